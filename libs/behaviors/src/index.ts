export * from './behavior.port';
export * from './catalog';
export * from './registry';
export * from './http-monitor/http-monitor.schema';
export * from './http-monitor/http-monitor.behavior';
export * from './abortable-sleep';
