import { describe, expect, it } from '@jest/globals';
import { MongoServerError } from 'mongodb';
import { duplicateKeyOf, isDuplicateKeyError, isPartialIndexNotImplemented } from './mongo-errors';

/** A server error as the driver builds it from a reply (`{ ok: 0, code, errmsg, ... }`). */
function serverError(code: number, errmsg: string, extra: Record<string, unknown> = {}): MongoServerError {
  return new MongoServerError({ ok: 0, code, errmsg, ...extra });
}

/** FerretDB 1.24 (SQLite) refusing an update that a unique index forbids, verbatim but for the path. */
const ferretUpdateRefused = serverError(
  1,
  "[msg_update.go:133 handler.(*Handler).updateDocument] constraint failed: UNIQUE constraint failed: index 't_f10c3da3_code_1' (2067)",
  { codeName: 'InternalError' },
);

describe('isDuplicateKeyError', () => {
  it('recognises MongoDB 7 duplicate keys (code 11000)', () => {
    const error = serverError(11000, 'E11000 duplicate key error collection: db.t index: _id_', {
      keyValue: { _id: 'a' },
    });
    expect(isDuplicateKeyError(error)).toBe(true);
    expect(duplicateKeyOf(error)).toBe('a');
  });

  it('recognises FerretDB 1.24 duplicate keys on insert (code 11000 without keyValue)', () => {
    const error = serverError(11000, 'E11000 duplicate key error collection: db.t');
    expect(isDuplicateKeyError(error)).toBe(true);
    expect(duplicateKeyOf(error)).toBe('E11000 duplicate key error collection: db.t');
  });

  it('recognises FerretDB 1.24 unique-index violations on update (InternalError with SQLite text)', () => {
    expect(isDuplicateKeyError(ferretUpdateRefused)).toBe(true);
    expect(duplicateKeyOf(ferretUpdateRefused)).toBe('(index t_f10c3da3_code_1)');
  });

  it('leaves other errors alone', () => {
    expect(isDuplicateKeyError(serverError(1, 'some other internal error'))).toBe(false);
    expect(isDuplicateKeyError(serverError(2, "UNIQUE constraint failed: index 'x'"))).toBe(false);
    expect(isDuplicateKeyError(new Error('E11000 duplicate key'))).toBe(false);
  });
});

describe('isPartialIndexNotImplemented', () => {
  it("recognises FerretDB 1.24's refusal of partialFilterExpression", () => {
    const error = serverError(238, 'Index option "partialFilterExpression" is not implemented yet');
    expect(isPartialIndexNotImplemented(error)).toBe(true);
  });

  it('leaves other errors, and other unimplemented things, alone', () => {
    expect(isPartialIndexNotImplemented(serverError(238, 'Index option "collation" is not implemented yet'))).toBe(
      false,
    );
    expect(isPartialIndexNotImplemented(serverError(67, 'partialFilterExpression: bad expression'))).toBe(false);
  });
});
