export * from './session-host';
