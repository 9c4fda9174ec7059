export * from './agent-streams.port';
export * from './outbox.port';
export * from './locks.port';
export * from './documents.port';
export * from './store.port';
export * from './sqlite/sqlite-store';
export * from './mongodb';
