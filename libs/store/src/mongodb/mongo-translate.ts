import { isFieldPath, type Filter, type Sort, type Update } from '@drover/contracts';
import type { Document } from 'mongodb';

/**
 * Pure translations of the store-neutral Filter / Sort / Update language to MongoDB syntax.
 * Every comparison is written with an explicit operator (`{ f: { $eq: v } }`, never `{ f: v }`),
 * so a value is always a value and can never be read as an operator (the one exception, `_id`
 * equal to a string, cannot be read as one either); every field path is checked
 * to be a dot path of identifiers, so `$where`, `$expr` or `a.$[x]` cannot be smuggled in.
 */

/** Throws unless `field` is a dot path of identifiers without a prototype segment (`isFieldPath`). */
export function assertMongoFieldPath(field: string): string {
  if (!isFieldPath(field)) throw new Error(`invalid field path "${String(field)}"`);
  return field;
}

const COMPARISONS = { eq: '$eq', ne: '$ne', gt: '$gt', gte: '$gte', lt: '$lt', lte: '$lte' } as const;

/** Matches every document (the translation of an empty `and` and of no filter). */
const MATCH_ALL: Document = {};
/** Matches no document (the translation of an empty `or`): `_id` is never in the empty set. */
const MATCH_NONE: Document = { _id: { $in: [] } };

/**
 * Translates a filter to a MongoDB query document. The store-neutral semantics are MongoDB's own
 * (null matches missing, `ne`/`nin` match missing fields, comparisons only within one type), so
 * the mapping is one to one, except `not`: MongoDB's `$not` only wraps an operator expression, so
 * `{ not: f }` becomes `{ $nor: [f] }`, which negates any query document.
 */
export function toMongoFilter(filter: Filter | undefined): Document {
  if (filter === undefined) return MATCH_ALL;
  if ('and' in filter) return filter.and.length === 0 ? MATCH_ALL : { $and: filter.and.map(toMongoFilter) };
  if ('or' in filter) return filter.or.length === 0 ? MATCH_NONE : { $or: filter.or.map(toMongoFilter) };
  if ('not' in filter) return { $nor: [toMongoFilter(filter.not)] };
  const field = assertMongoFieldPath(filter.field);
  switch (filter.op) {
    case 'in':
    case 'nin':
      if (!Array.isArray(filter.value)) throw new Error(`"${filter.op}" needs an array value`);
      return { [field]: { [filter.op === 'in' ? '$in' : '$nin']: filter.value } };
    case 'exists':
      if (typeof filter.value !== 'boolean') throw new Error('"exists" needs a boolean value');
      return { [field]: { $exists: filter.value } };
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (!isScalar(filter.value)) throw new Error(`"${filter.op}" needs a scalar value`);
      // A string cannot be read as an operator, so `_id` equality is written plainly: the one form
      // FerretDB 1.24 serves from its `_id` index (with `$eq` it scans); MongoDB 7 treats both alike.
      if (filter.op === 'eq' && field === '_id' && typeof filter.value === 'string') return { _id: filter.value };
      return { [field]: { [COMPARISONS[filter.op]]: filter.value } };
    default:
      throw new Error(`unknown filter operator "${String((filter as { op: unknown }).op)}"`);
  }
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

/**
 * Translates a sort to a MongoDB sort document, with `_id` ascending appended (unless sorted on
 * already) so that pages are stable, as in the SQLite adapter. Keys keep their insertion order:
 * validated paths start with a letter or `_`, so none is an integer-like key JavaScript would reorder.
 */
export function toMongoSort(sort: Sort | undefined): Record<string, 1 | -1> {
  const entries: [string, 1 | -1][] = [];
  for (const key of sort ?? []) {
    const field = assertMongoFieldPath(key.field);
    if (entries.some(([seen]) => seen === field)) throw new Error(`field "${field}" appears twice in the sort`);
    entries.push([field, key.direction === 'desc' ? -1 : 1]);
  }
  if (!entries.some(([field]) => field === '_id')) entries.push(['_id', 1]);
  // fromEntries defines own properties, so even a `__proto__` path stays a plain key.
  return Object.fromEntries(entries);
}

/** A validated update path; `_id` (and anything below it) cannot be changed. */
function updatePath(path: string): string {
  assertMongoFieldPath(path);
  if (path.split('.')[0] === '_id') throw new Error('_id cannot be updated');
  return path;
}

/**
 * Translates an update to MongoDB update operators: `set` → `$set`, `unset` → `$unset`,
 * `inc` → `$inc` (a missing field counts as 0). Returns `undefined` when there is nothing to
 * change (MongoDB rejects an empty update document). Unlike the SQLite adapter, which applies
 * set, unset, inc in sequence, MongoDB refuses one update touching the same path (or a path and
 * its parent) in two operators: such an update fails on the server.
 */
export function toMongoUpdate(update: Update): Document | undefined {
  const result: Document = {};
  const set = Object.entries(update.set ?? {});
  if (set.length > 0) result.$set = Object.fromEntries(set.map(([path, value]) => [updatePath(path), value]));
  const unset = update.unset ?? [];
  if (unset.length > 0) result.$unset = Object.fromEntries(unset.map((path) => [updatePath(path), '']));
  const inc = Object.entries(update.inc ?? {});
  if (inc.length > 0) {
    result.$inc = Object.fromEntries(
      inc.map(([path, by]) => {
        if (typeof by !== 'number' || !Number.isFinite(by)) throw new Error(`cannot increment "${path}" by ${by}`);
        return [updatePath(path), by];
      }),
    );
  }
  return Object.keys(result).length > 0 ? result : undefined;
}
