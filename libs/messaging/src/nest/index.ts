export * from './bus.server';
export * from './bus.client';
export * from './bus-exception.filter';
