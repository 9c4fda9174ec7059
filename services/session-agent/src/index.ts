export * from './session-host';
export * from './session-agent';
