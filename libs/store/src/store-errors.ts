/**
 * Errors that mean the store is unavailable (down, unreachable, locked or read-only), not that
 * the operation was wrong: the work should wait and try again, and no message should be
 * dead-lettered because of them. Recognised by name and code, so the root entry point loads no
 * driver.
 */
const MONGO_UNAVAILABLE = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'PoolClearedError',
  'PoolClearedOnNetworkError',
]);

/** SQLite result codes of a file that cannot be written now (extended codes start the same). */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|CANTOPEN|FULL|PROTOCOL)/;

export function isStoreUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (typeof name === 'string' && MONGO_UNAVAILABLE.has(name)) return true;
  return typeof code === 'string' && SQLITE_UNAVAILABLE.test(code);
}
