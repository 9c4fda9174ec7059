export * from './browser-host';
export * from './chromium';
export * from './local-proxy';
// Re-exported from the one redaction policy, so callers keep importing them from here.
export { redactCredentials, redactProxyUrl, urlSecrets } from '@drover/contracts';
export * from './cookies';
export { processTree, pssMb } from './process-tree';
