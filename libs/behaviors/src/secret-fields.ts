import { z } from 'zod';

/** A field's place in a config: keys and array indexes from the config's root. */
export type FieldPath = (string | number)[];

/** Decides, from the object that holds it, whether a conditionally secret field is secret. */
type SecretWhen = (holder: Record<string, unknown>) => boolean;

const SECRET_FIELDS = new WeakMap<z.ZodTypeAny, SecretWhen>();
const always: SecretWhen = () => true;

/**
 * Marks a string field of a behaviour's config as secret: it is sealed where a command enters
 * Drover, and only the session agent running the agent sees its value.
 */
export function secret<T extends z.ZodTypeAny>(schema: T): T {
  SECRET_FIELDS.set(schema, always);
  return schema;
}

/** Marks a field as secret when `when` holds for the object holding it (a step's `secret: true`). */
export function secretWhen<T extends z.ZodTypeAny>(schema: T, when: SecretWhen): T {
  SECRET_FIELDS.set(schema, when);
  return schema;
}

/**
 * How a field's schema is marked, for documents that describe the configs: `always` secret,
 * secret on a `condition` of the object holding it, or not at all.
 */
export function secretMark(schema: z.ZodTypeAny): 'always' | 'condition' | undefined {
  const when = markOf(schema);
  return when === undefined ? undefined : when === always ? 'always' : 'condition';
}

/** The schema inside its wrappers (optional, default, refinements...). */
export function unwrapSchema(schema: z.ZodTypeAny): z.ZodTypeAny {
  return unwrap(schema);
}

/**
 * The paths of every string in `value` that `schema` marks secret. It reads whatever the value
 * holds where the schema expects it, so it also finds secrets in a config that fails validation
 * (a command about to be dead-lettered must not keep them).
 */
export function secretPaths(schema: z.ZodTypeAny, value: unknown): FieldPath[] {
  const found: FieldPath[] = [];
  walk(schema, value, [], found);
  return found;
}

function walk(schema: z.ZodTypeAny, value: unknown, path: FieldPath, found: FieldPath[]): void {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    if (!isRecord(value)) return;
    for (const [key, field] of Object.entries(inner.shape as Record<string, z.ZodTypeAny>)) {
      if (!(key in value)) continue;
      const when = markOf(field);
      if (when && typeof value[key] === 'string' && when(value)) found.push([...path, key]);
      else walk(field, value[key], [...path, key], found);
    }
  } else if (inner instanceof z.ZodArray) {
    if (!Array.isArray(value)) return;
    value.forEach((item, index) => walkElement(inner.element as z.ZodTypeAny, item, [...path, index], found));
  } else if (inner instanceof z.ZodRecord) {
    if (!isRecord(value)) return;
    for (const [key, item] of Object.entries(value))
      walkElement(inner.valueSchema as z.ZodTypeAny, item, [...path, key], found);
  } else if (inner instanceof z.ZodDiscriminatedUnion) {
    if (!isRecord(value)) return;
    const option = (inner.optionsMap as Map<unknown, z.ZodTypeAny>).get(value[inner.discriminator as string]);
    if (option) walk(option, value, path, found);
  } else if (inner instanceof z.ZodUnion) {
    for (const option of inner.options as z.ZodTypeAny[]) walk(option, value, path, found);
  }
}

/** An element of an array or record: secret as a whole (`z.array(secret(z.string()))`) or inside. */
function walkElement(schema: z.ZodTypeAny, value: unknown, path: FieldPath, found: FieldPath[]): void {
  if (markOf(schema) && typeof value === 'string') found.push(path);
  else walk(schema, value, path, found);
}

/** The mark on a field, looked for on every wrapper (`secret(z.string()).optional()` and the reverse). */
function markOf(schema: z.ZodTypeAny): SecretWhen | undefined {
  for (let current: z.ZodTypeAny | undefined = schema; current; current = wrapped(current)) {
    const when = SECRET_FIELDS.get(current);
    if (when) return when;
  }
  return undefined;
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let current = schema;
  for (let next = wrapped(current); next; next = wrapped(current)) current = next;
  return current;
}

/** The schema inside a wrapper (optional, default, refinement, lazy...), or undefined. */
function wrapped(schema: z.ZodTypeAny): z.ZodTypeAny | undefined {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) return schema.unwrap() as z.ZodTypeAny;
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodCatch || schema instanceof z.ZodReadonly) {
    return schema._def.innerType as z.ZodTypeAny;
  }
  if (schema instanceof z.ZodEffects) return schema.innerType() as z.ZodTypeAny;
  if (schema instanceof z.ZodBranded) return schema.unwrap() as z.ZodTypeAny;
  if (schema instanceof z.ZodLazy) return schema.schema as z.ZodTypeAny;
  if (schema instanceof z.ZodPipeline) return schema._def.in as z.ZodTypeAny;
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
