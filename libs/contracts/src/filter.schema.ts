import { z } from 'zod';

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

export const FieldPath = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'field paths are dot-separated identifiers');
const ScalarSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const FilterSchema: z.ZodType<Filter> = z.lazy(() =>
  z.union([
    z.object({ and: z.array(FilterSchema).min(1) }).strict(),
    z.object({ or: z.array(FilterSchema).min(1) }).strict(),
    z.object({ not: FilterSchema }).strict(),
    z.object({ field: FieldPath, op: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']), value: ScalarSchema }).strict(),
    z.object({ field: FieldPath, op: z.enum(['in', 'nin']), value: z.array(ScalarSchema).max(1000) }).strict(),
    z.object({ field: FieldPath, op: z.literal('exists'), value: z.boolean() }).strict(),
  ]),
);

export const SortSchema = z.array(z.object({ field: FieldPath, direction: z.enum(['asc', 'desc']) }).strict());
export type Sort = z.infer<typeof SortSchema>;

/** Store-neutral update: fields to set, remove or increment (dot paths allowed). */
export const UpdateSchema = z
  .object({
    set: z.record(z.unknown()).optional(),
    unset: z.array(FieldPath).optional(),
    inc: z.record(z.number()).optional(),
  })
  .strict()
  .refine((u) => u.set || u.unset || u.inc, 'an update needs set, unset or inc');
export type Update = z.infer<typeof UpdateSchema>;
