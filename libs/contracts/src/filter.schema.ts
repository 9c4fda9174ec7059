import { z } from 'zod';
import { filterDepth, Limits } from './limits';

/**
 * The store-neutral filter language of persistence tasks. Fields are dot paths into a
 * document. Each adapter translates it (SQLite: json_extract SQL; MongoDB: query operators).
 *
 *   { "and": [ { "field": "status", "op": "eq", "value": "running" },
 *              { "not": { "field": "lastError", "op": "exists", "value": true } } ] }
 */
export type Scalar = string | number | boolean | null;
export type Filter =
  | { and: Filter[] }
  | { or: Filter[] }
  | { not: Filter }
  | { field: string; op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte'; value: Scalar }
  | { field: string; op: 'in' | 'nin'; value: Scalar[] }
  | { field: string; op: 'exists'; value: boolean };

const IDENTIFIERS = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
/** Segments that reach an object's prototype in JavaScript: `set: {"__proto__.x": 1}` would pollute it. */
const PROTOTYPE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * True for a dot path of identifiers without a prototype segment: the only field text a store
 * adapter ever splices into SQL or uses as a key. Both adapters check it again themselves.
 */
export function isFieldPath(path: unknown): path is string {
  return (
    typeof path === 'string' &&
    path.length <= 200 &&
    IDENTIFIERS.test(path) &&
    !path.split('.').some((segment) => PROTOTYPE_SEGMENTS.has(segment))
  );
}

export const FieldPath = z
  .string()
  .min(1)
  .max(200)
  .regex(IDENTIFIERS, 'field paths are dot-separated identifiers')
  .refine(isFieldPath, 'field paths may not contain __proto__, constructor or prototype');
const ScalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const FilterSchema: z.ZodType<Filter> = z.lazy(() =>
  z.union([
    z.object({ and: z.array(FilterSchema).min(1).max(Limits.listItems) }).strict(),
    z.object({ or: z.array(FilterSchema).min(1).max(Limits.listItems) }).strict(),
    z.object({ not: FilterSchema }).strict(),
    z.object({ field: FieldPath, op: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']), value: ScalarSchema }).strict(),
    z.object({ field: FieldPath, op: z.enum(['in', 'nin']), value: z.array(ScalarSchema).max(1000) }).strict(),
    z.object({ field: FieldPath, op: z.literal('exists'), value: z.boolean() }).strict(),
  ]),
);

/**
 * A filter of at most `Limits.filterDepth` levels, checked before `FilterSchema` recurses into
 * it: a filter nested thousands deep would otherwise exhaust the stack of whoever parses it.
 */
export const BoundedFilter: z.ZodType<Filter, z.ZodTypeDef, unknown> = z
  .unknown()
  .superRefine((value, ctx) => {
    if (filterDepth(value) > Limits.filterDepth) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `filters nest at most ${Limits.filterDepth} levels of and/or/not`,
        fatal: true,
      });
    }
  })
  .pipe(FilterSchema);

export const SortSchema = z
  .array(z.object({ field: FieldPath, direction: z.enum(['asc', 'desc']) }).strict())
  .max(Limits.listItems);
export type Sort = z.infer<typeof SortSchema>;

/** Store-neutral update: fields to set, remove or increment (dot paths allowed). */
export const UpdateSchema = z
  .object({
    set: z
      .record(FieldPath, z.unknown())
      .refine((set) => Object.keys(set).length <= Limits.listItems, `at most ${Limits.listItems} fields`)
      .optional(),
    unset: z.array(FieldPath).max(Limits.listItems).optional(),
    inc: z
      .record(FieldPath, z.number())
      .refine((inc) => Object.keys(inc).length <= Limits.listItems, `at most ${Limits.listItems} fields`)
      .optional(),
  })
  .strict()
  .refine((u) => u.set || u.unset || u.inc, 'an update needs set, unset or inc');
export type Update = z.infer<typeof UpdateSchema>;
