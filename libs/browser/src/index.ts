export * from './browser-host';
export * from './chromium';
export * from './local-proxy';
export * from './redact';
export * from './cookies';
export { processTree, rssMb } from './process-tree';
