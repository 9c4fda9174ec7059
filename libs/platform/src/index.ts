export * from './metrics';
export * from './instrument-bus';
export * from './ops-server';
export * from './infrastructure';
export * from './run-service';
export * from './screenshot-store';
