// The ports only: each adapter has its own entry point (`@drover/store/sqlite`,
// `@drover/store/mongodb`), so a process loads the database driver it runs on and no other.
export * from './agent-streams.port';
export * from './outbox.port';
export * from './locks.port';
export * from './documents.port';
export * from './store.port';
export * from './store-errors';
