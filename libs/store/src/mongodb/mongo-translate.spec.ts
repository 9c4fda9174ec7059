import assert from 'node:assert/strict';
import { describe, expect, it } from '@jest/globals';
import type { Filter, Update } from '@drover/contracts';
import { toMongoFilter, toMongoSort, toMongoUpdate } from './mongo-translate';

describe('toMongoFilter', () => {
  it('matches everything without a filter', () => {
    expect(toMongoFilter(undefined)).toEqual({});
  });

  const comparisons: [Filter, object][] = [
    [{ field: 'name', op: 'eq', value: 'ann' }, { name: { $eq: 'ann' } }],
    [{ field: 'age', op: 'ne', value: 40 }, { age: { $ne: 40 } }],
    [{ field: 'age', op: 'gt', value: 30 }, { age: { $gt: 30 } }],
    [{ field: 'age', op: 'gte', value: 30 }, { age: { $gte: 30 } }],
    [{ field: 'born', op: 'lt', value: '1994-01-01' }, { born: { $lt: '1994-01-01' } }],
    [{ field: 'born', op: 'lte', value: '1994-01-01' }, { born: { $lte: '1994-01-01' } }],
    [{ field: 'active', op: 'eq', value: true }, { active: { $eq: true } }],
    [{ field: 'nick', op: 'eq', value: null }, { nick: { $eq: null } }],
    [{ field: 'name', op: 'in', value: ['ann', null] }, { name: { $in: ['ann', null] } }],
    [{ field: 'name', op: 'in', value: [] }, { name: { $in: [] } }],
    [{ field: 'name', op: 'nin', value: ['ann', 1] }, { name: { $nin: ['ann', 1] } }],
    [{ field: 'nick', op: 'exists', value: true }, { nick: { $exists: true } }],
    [{ field: 'nick', op: 'exists', value: false }, { nick: { $exists: false } }],
    [{ field: 'address.city', op: 'eq', value: 'oslo' }, { 'address.city': { $eq: 'oslo' } }],
    [{ field: '_id', op: 'eq', value: 'a' }, { _id: 'a' }],
    [{ field: '_id', op: 'eq', value: 7 }, { _id: { $eq: 7 } }],
  ];
  for (const [filter, expected] of comparisons) {
    const title = 'field' in filter ? `${filter.op} on ${filter.field}` : 'combination';
    it(`translates ${title}`, () => {
      expect(toMongoFilter(filter)).toEqual(expected);
    });
  }

  it('always writes an explicit operator, so a value is never read as a query', () => {
    const sneaky = { field: 'name', op: 'eq', value: { $ne: null } } as unknown as Filter;
    assert.throws(() => toMongoFilter(sneaky), /scalar/);
    const notArray = { field: 'name', op: 'in', value: 'ann' } as unknown as Filter;
    assert.throws(() => toMongoFilter(notArray), /array/);
    const notBoolean = { field: 'name', op: 'exists', value: 1 } as unknown as Filter;
    assert.throws(() => toMongoFilter(notBoolean), /boolean/);
    const unknownOp = { field: 'name', op: 'regex', value: '.*' } as unknown as Filter;
    assert.throws(() => toMongoFilter(unknownOp), /unknown filter operator/);
  });

  it('translates and, or and nested combinations', () => {
    const filter: Filter = {
      and: [
        { field: 'a', op: 'eq', value: 1 },
        { or: [{ field: 'b', op: 'gt', value: 2 }, { not: { field: 'c', op: 'in', value: ['x'] } }] },
      ],
    };
    expect(toMongoFilter(filter)).toEqual({
      $and: [{ a: { $eq: 1 } }, { $or: [{ b: { $gt: 2 } }, { $nor: [{ c: { $in: ['x'] } }] }] }],
    });
  });

  it('translates not as $nor, which (unlike $not) negates any query', () => {
    expect(toMongoFilter({ not: { field: 'a', op: 'exists', value: true } })).toEqual({
      $nor: [{ a: { $exists: true } }],
    });
    expect(toMongoFilter({ not: { or: [{ field: 'a', op: 'eq', value: 1 }] } })).toEqual({
      $nor: [{ $or: [{ a: { $eq: 1 } }] }],
    });
    expect(toMongoFilter({ not: { not: { field: 'a', op: 'eq', value: 1 } } })).toEqual({
      $nor: [{ $nor: [{ a: { $eq: 1 } }] }],
    });
  });

  it('translates an empty and to match-all and an empty or to match-none (MongoDB refuses empty arrays)', () => {
    expect(toMongoFilter({ and: [] })).toEqual({});
    expect(toMongoFilter({ or: [] })).toEqual({ _id: { $in: [] } });
    expect(toMongoFilter({ not: { or: [] } })).toEqual({ $nor: [{ _id: { $in: [] } }] });
  });

  it('rejects field paths that are not dot-separated identifiers', () => {
    for (const field of [
      '$where',
      'a.$where',
      '$expr',
      'a.$',
      'a.$[x]',
      'a..b',
      '.a',
      'a.',
      '',
      '1a',
      'a.0',
      'a b',
      "x') OR 1=1 --",
      'a\u0000b',
    ]) {
      assert.throws(() => toMongoFilter({ field, op: 'eq', value: 1 }), /invalid field path/, field);
      assert.throws(() => toMongoFilter({ not: { and: [{ field, op: 'exists', value: true }] } }), /invalid/, field);
    }
  });
});

describe('toMongoSort', () => {
  it('appends _id ascending so that pages are stable', () => {
    expect(toMongoSort(undefined)).toEqual({ _id: 1 });
    expect(toMongoSort([])).toEqual({ _id: 1 });
  });

  it('keeps the order of the keys and maps the directions', () => {
    const spec = toMongoSort([
      { field: 'address.city', direction: 'desc' },
      { field: 'name', direction: 'asc' },
    ]);
    expect(Object.entries(spec)).toEqual([
      ['address.city', -1],
      ['name', 1],
      ['_id', 1],
    ]);
  });

  it('does not add _id when it is sorted on already', () => {
    expect(Object.entries(toMongoSort([{ field: '_id', direction: 'desc' }]))).toEqual([['_id', -1]]);
  });

  it('refuses a __proto__ path, which could reach the prototype of the objects built from it', () => {
    assert.throws(() => toMongoSort([{ field: '__proto__', direction: 'asc' }]), /invalid field path/);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('rejects invalid and repeated fields', () => {
    assert.throws(() => toMongoSort([{ field: '$natural', direction: 'asc' }]), /invalid field path/);
    assert.throws(
      () =>
        toMongoSort([
          { field: 'a', direction: 'asc' },
          { field: 'a', direction: 'desc' },
        ]),
      /twice/,
    );
  });
});

describe('toMongoUpdate', () => {
  it('maps set, unset and inc to $set, $unset and $inc over dot paths', () => {
    const update: Update = {
      set: { 'address.zip': '0150', tags: ['a'], meta: { x: 1 } },
      unset: ['active', 'old.field'],
      inc: { visits: 2, 'meta.count': -1.5 },
    };
    expect(toMongoUpdate(update)).toEqual({
      $set: { 'address.zip': '0150', tags: ['a'], meta: { x: 1 } },
      $unset: { active: '', 'old.field': '' },
      $inc: { visits: 2, 'meta.count': -1.5 },
    });
  });

  it('leaves out operators that have nothing to do', () => {
    expect(toMongoUpdate({ set: { a: null } })).toEqual({ $set: { a: null } });
    expect(toMongoUpdate({ unset: ['a'] })).toEqual({ $unset: { a: '' } });
    expect(toMongoUpdate({ inc: { a: 1 } })).toEqual({ $inc: { a: 1 } });
    expect(toMongoUpdate({ set: {}, unset: ['a'], inc: {} })).toEqual({ $unset: { a: '' } });
  });

  it('answers undefined for an update that changes nothing (MongoDB refuses an empty update)', () => {
    expect(toMongoUpdate({ set: {}, unset: [], inc: {} })).toBe(undefined);
  });

  it('refuses to change _id', () => {
    assert.throws(() => toMongoUpdate({ set: { _id: 'other' } }), /_id cannot be updated/);
    assert.throws(() => toMongoUpdate({ unset: ['_id'] }), /_id cannot be updated/);
    assert.throws(() => toMongoUpdate({ inc: { '_id.n': 1 } }), /_id cannot be updated/);
  });

  it('rejects operator-like and non-identifier paths', () => {
    for (const path of ['$set', 'a.$', 'a.$[]', 'a.$[x]', 'a..b', 'a.0', '']) {
      assert.throws(() => toMongoUpdate({ set: { [path]: 1 } }), /invalid field path/, path);
      assert.throws(() => toMongoUpdate({ unset: [path] }), /invalid field path/, path);
      assert.throws(() => toMongoUpdate({ inc: { [path]: 1 } }), /invalid field path/, path);
    }
  });

  it('rejects increments that are not finite numbers', () => {
    assert.throws(() => toMongoUpdate({ inc: { a: Number.NaN } }), /cannot increment/);
    assert.throws(() => toMongoUpdate({ inc: { a: '1' } } as unknown as Update), /cannot increment/);
  });
});
