import { isFieldPath, type Filter, type Scalar, type Sort } from '@drover/contracts';

/** A bound value as better-sqlite3 accepts it. */
export type SqlParam = string | number | null;

/** A SQL boolean expression with its positional parameters. */
export interface SqlFragment {
  sql: string;
  params: SqlParam[];
}

const COMPARISONS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
type ComparisonOp = keyof typeof COMPARISONS;

/**
 * Throws unless `field` is a dot path of identifiers without a prototype segment (`isFieldPath`):
 * the only text ever spliced into SQL, and the only keys `applyUpdate` walks.
 */
export function assertFieldPath(field: string): void {
  if (!isFieldPath(field)) throw new Error(`invalid field path "${String(field)}"`);
}

/**
 * `json_extract(doc, '$.a.b')`: the same text in queries and indexes so SQLite can use them.
 * `_id` is the `id` column, which holds every document's `_id` (always a string): orders, ranges
 * and indexes over `_id` then use the primary key `(collection, id)` or an index ending in `id`.
 */
export function jsonExtract(field: string): string {
  assertFieldPath(field);
  if (field === '_id') return 'id';
  return `json_extract(doc, '$.${field}')`;
}

/** The JSON type at a path, `'missing'` when absent, so comparisons never yield NULL. */
function jsonType(field: string): string {
  assertFieldPath(field);
  return `IFNULL(json_type(doc, '$.${field}'), 'missing')`;
}

const TRUE: SqlFragment = { sql: '1', params: [] };
const FALSE: SqlFragment = { sql: '0', params: [] };

/** Translates a store-neutral filter to a SQL predicate over the `doc` column (MongoDB semantics). */
export function filterToSql(filter: Filter | undefined): SqlFragment {
  if (!filter) return TRUE;
  if ('and' in filter) return combine(filter.and.map(filterToSql), 'AND', TRUE);
  if ('or' in filter) return combine(filter.or.map(filterToSql), 'OR', FALSE);
  if ('not' in filter) return negate(filterToSql(filter.not));
  switch (filter.op) {
    case 'eq':
      return equals(filter.field, filter.value);
    case 'ne':
      return negate(equals(filter.field, filter.value));
    case 'in':
      return combine(
        filter.value.map((value) => equals(filter.field, value)),
        'OR',
        FALSE,
      );
    case 'nin':
      return negate(
        combine(
          filter.value.map((value) => equals(filter.field, value)),
          'OR',
          FALSE,
        ),
      );
    case 'exists':
      return { sql: `${jsonType(filter.field)} ${filter.value ? '<>' : '='} 'missing'`, params: [] };
    default:
      return compare(filter.field, filter.op, filter.value);
  }
}

function combine(parts: SqlFragment[], joiner: 'AND' | 'OR', empty: SqlFragment): SqlFragment {
  if (parts.length === 0) return empty;
  return {
    sql: parts.map((part) => `(${part.sql})`).join(` ${joiner} `),
    params: parts.flatMap((part) => part.params),
  };
}

function negate(part: SqlFragment): SqlFragment {
  return { sql: `NOT (${part.sql})`, params: part.params };
}

/**
 * Equality: null matches null or missing, booleans by JSON type, others by type and value. On
 * `_id` it reads the `id` column, which holds every document's `_id` (a string): the primary
 * key `(collection, id)` then serves the lookup instead of a scan of the collection.
 */
function equals(field: string, value: Scalar): SqlFragment {
  if (field === '_id') return typeof value === 'string' ? { sql: 'id = ?', params: [value] } : FALSE;
  const type = jsonType(field);
  if (value === null) return { sql: `${type} IN ('null', 'missing')`, params: [] };
  if (typeof value === 'boolean') return { sql: `${type} = '${value ? 'true' : 'false'}'`, params: [] };
  return {
    sql: `${type} IN (${typesOf(value)}) AND ${jsonExtract(field)} = ?`,
    params: [value],
  };
}

/** Ordering comparisons only match values of the same type, as in MongoDB. */
function compare(field: string, op: ComparisonOp, value: Scalar): SqlFragment {
  if (value === null) return op === 'gte' || op === 'lte' ? equals(field, null) : FALSE;
  if (field === '_id') return typeof value === 'string' ? { sql: `id ${COMPARISONS[op]} ?`, params: [value] } : FALSE;
  const bound = typeof value === 'boolean' ? Number(value) : value;
  return {
    sql: `${jsonType(field)} IN (${typesOf(value)}) AND ${jsonExtract(field)} ${COMPARISONS[op]} ?`,
    params: [bound],
  };
}

function typesOf(value: string | number | boolean): string {
  if (typeof value === 'number') return `'integer', 'real'`;
  if (typeof value === 'boolean') return `'true', 'false'`;
  return `'text'`;
}

/**
 * `ORDER BY` over the sort fields, then `id` so pages are stable. With a filter the tie-break is
 * written `+id`, so the planner picks an index for the filter rather than the primary key for order.
 * A sort that already orders by `_id` (unique) needs no tie-break, and one would keep an index
 * ending in `id` from serving the whole order.
 */
export function sortToSql(sort: Sort | undefined, filtered: boolean): string {
  const keys = (sort ?? []).map((key) => `${jsonExtract(key.field)} ${key.direction === 'desc' ? 'DESC' : 'ASC'}`);
  if ((sort ?? []).some((key) => key.field === '_id')) return `ORDER BY ${keys.join(', ')}`;
  return `ORDER BY ${[...keys, filtered ? '+id ASC' : 'id ASC'].join(', ')}`;
}
