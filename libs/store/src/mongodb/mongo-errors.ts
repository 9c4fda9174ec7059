import { MongoServerError } from 'mongodb';

/** MongoDB's error code for a unique-index (or `_id`) violation. */
export const DUPLICATE_KEY = 11000;

/** MongoDB's error code for a command or option the server does not implement. */
export const NOT_IMPLEMENTED = 238;

/** MongoDB's error code for an internal server error. */
export const INTERNAL_ERROR = 1;

/**
 * FerretDB 1.24 on SQLite reports an update (not an insert) that a unique index refuses as
 * InternalError (code 1) carrying SQLite's own message, e.g.
 * `... constraint failed: UNIQUE constraint failed: index 't_f10c3da3_code_1' (2067)`;
 * the update is not applied. MongoDB 7 reports the same refusal as code 11000.
 */
const SQLITE_UNIQUE_VIOLATION = /UNIQUE constraint failed: index '([^']*)'/;

/**
 * True for a write refused by the `_id` index or a unique index: code 11000 (MongoDB 7, and
 * FerretDB 1.24 for inserts and upserts that insert), or FerretDB 1.24's InternalError for an
 * update that violates a unique index (ARCHITECTURE.md, "MongoDB 7 vs FerretDB 1.24").
 */
export function isDuplicateKeyError(error: unknown): error is MongoServerError {
  if (!(error instanceof MongoServerError)) return false;
  if (error.code === DUPLICATE_KEY) return true;
  return error.code === INTERNAL_ERROR && SQLITE_UNIQUE_VIOLATION.test(error.message);
}

/**
 * The offending key of a duplicate-key error, for messages: `keyValue` (set by MongoDB 4.2+;
 * FerretDB 1.24 sends none), else the index FerretDB names, else the server's message.
 */
export function duplicateKeyOf(error: MongoServerError): string {
  const keyValue: unknown = error.keyValue;
  if (keyValue && typeof keyValue === 'object') {
    const id: unknown = (keyValue as Record<string, unknown>)._id;
    return typeof id === 'string' ? id : JSON.stringify(keyValue);
  }
  const index = SQLITE_UNIQUE_VIOLATION.exec(error.message)?.[1];
  return index === undefined ? error.message : `(index ${index})`;
}

/**
 * True for FerretDB 1.24's refusal of `partialFilterExpression` in `createIndexes` (code 238,
 * `Index option "partialFilterExpression" is not implemented yet`). MongoDB 7 implements it.
 */
export function isPartialIndexNotImplemented(error: unknown): boolean {
  return (
    error instanceof MongoServerError &&
    error.code === NOT_IMPLEMENTED &&
    error.message.includes('partialFilterExpression')
  );
}
