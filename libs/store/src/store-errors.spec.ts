import { describe, expect, it } from '@jest/globals';
import { isStoreUnavailable } from './store-errors';

/** An error shaped like a driver's: its class name, or a SQLite result code. */
function named(name: string): Error {
  const error = new Error('driver error');
  error.name = name;
  return error;
}
const withCode = (code: string) => Object.assign(new Error('driver error'), { code });

describe('isStoreUnavailable', () => {
  it('recognises a server that is down or unreachable (MongoDB driver errors)', () => {
    for (const name of ['MongoServerSelectionError', 'MongoNetworkError', 'MongoNetworkTimeoutError']) {
      expect(isStoreUnavailable(named(name))).toBe(true);
    }
  });

  it('recognises a SQLite file that cannot be written now', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_READONLY', 'SQLITE_IOERR_WRITE', 'SQLITE_CANTOPEN', 'SQLITE_FULL']) {
      expect(isStoreUnavailable(withCode(code))).toBe(true);
    }
  });

  it('leaves errors of the operation itself to the normal retries', () => {
    expect(isStoreUnavailable(named('MongoServerError'))).toBe(false);
    expect(isStoreUnavailable(withCode('SQLITE_CONSTRAINT_UNIQUE'))).toBe(false);
    expect(isStoreUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isStoreUnavailable('down')).toBe(false);
    expect(isStoreUnavailable(undefined)).toBe(false);
  });
});
