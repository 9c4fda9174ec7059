export * from './browser-host';
export * from './local-proxy';
export * from './redact';
export * from './cookies';
