import { MongoServerError } from 'mongodb';

/** MongoDB's error code for a unique-index (or `_id`) violation. */
export const DUPLICATE_KEY = 11000;

/** True for a write refused by the `_id` index or a unique index. */
export function isDuplicateKeyError(error: unknown): error is MongoServerError {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

/** The offending key of a duplicate-key error, for messages (`keyValue` is set by MongoDB 4.2+). */
export function duplicateKeyOf(error: MongoServerError): string {
  const keyValue: unknown = error.keyValue;
  if (keyValue && typeof keyValue === 'object') {
    const id: unknown = (keyValue as Record<string, unknown>)._id;
    return typeof id === 'string' ? id : JSON.stringify(keyValue);
  }
  return error.message;
}
