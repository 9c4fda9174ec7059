import type { Update } from '@drover/contracts';
import type { Doc } from '../documents.port';
import { assertFieldPath } from './sqlite-filter';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Splits a validated dot path, refusing any change to `_id`. */
function segments(path: string): string[] {
  assertFieldPath(path);
  const parts = path.split('.');
  if (parts[0] === '_id') throw new Error('_id cannot be updated');
  return parts;
}

/** The object holding the last segment of `parts`, created on the way when `create`. */
function parentOf(doc: JsonObject, parts: string[], create: boolean): JsonObject | undefined {
  let node = doc;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (isObject(next)) {
      node = next;
    } else if (next === undefined && create) {
      const created: JsonObject = {};
      node[part] = created;
      node = created;
    } else if (next === undefined) {
      return undefined;
    } else {
      throw new Error(`cannot update below non-object field "${part}"`);
    }
  }
  return node;
}

function lastOf(parts: string[]): string {
  const last = parts[parts.length - 1];
  if (last === undefined) throw new Error('empty field path');
  return last;
}

function setPath(doc: JsonObject, path: string, value: unknown): void {
  const parts = segments(path);
  const parent = parentOf(doc, parts, true);
  if (parent) parent[lastOf(parts)] = value;
}

function unsetPath(doc: JsonObject, path: string): void {
  const parts = segments(path);
  const parent = parentOf(doc, parts, false);
  if (parent) delete parent[lastOf(parts)];
}

function incPath(doc: JsonObject, path: string, by: number): void {
  const parts = segments(path);
  const parent = parentOf(doc, parts, true);
  if (!parent) return;
  const key = lastOf(parts);
  const current = parent[key] ?? 0;
  if (typeof current !== 'number') throw new Error(`cannot increment non-number field "${path}"`);
  parent[key] = current + by;
}

/** Returns a copy of `doc` with `set`, then `unset`, then `inc` applied (dot paths allowed). */
export function applyUpdate(doc: Doc, update: Update): Doc {
  const next = structuredClone(doc);
  for (const [path, value] of Object.entries(update.set ?? {})) setPath(next, path, value);
  for (const path of update.unset ?? []) unsetPath(next, path);
  for (const [path, by] of Object.entries(update.inc ?? {})) incPath(next, path, by);
  return next;
}
