import { z } from 'zod';

/**
 * How large the free-form parts of Drover's messages may be (docs/api.md, "Size limits"). Every
 * bound is checked where the message is first parsed (REST or bus), so nothing larger is
 * stored, replayed or carried, and no broker closes a channel over it.
 */
export const Limits = {
  /** An agent's behaviour config (`agent.start`), serialized as JSON. */
  configBytes: 64 * 1024,
  /** An activity's `message`, in characters (stored with the activity). */
  activityMessageChars: 2000,
  /** An activity's `details`, serialized as JSON. */
  activityDetailsBytes: 64 * 1024,
  /** A document a persistence task inserts or upserts, serialized as JSON. */
  documentBytes: 256 * 1024,
  /** Nesting of any free-form object (config, details, documents): beyond it, recursion is a hazard. */
  jsonDepth: 32,
  /** Nesting of a persistence task's filter (`and` / `or` / `not`). */
  filterDepth: 16,
  /** Conditions in one `and` / `or`, sort keys, fields in one update. */
  listItems: 100,
  /** A whole message on the bus, as published; the broker's `max_message_size` (deploy/rabbitmq) is above it. */
  messageBytes: 1024 * 1024,
} as const;

/**
 * Why `value` is too deep or too large as JSON, or undefined. Depth is measured without
 * recursion before anything serializes it (a hostile body may nest thousands of levels).
 */
export function jsonBoundProblem(value: unknown, maxBytes: number, maxDepth: number = Limits.jsonDepth) {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > maxDepth) return `nests deeper than ${maxDepth} levels`;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
  return bytes > maxBytes ? `is ${bytes} bytes as JSON, more than ${maxBytes}` : undefined;
}

/** A JSON object of at most `maxBytes` serialized and `Limits.jsonDepth` levels. */
export function boundedObject(maxBytes: number) {
  return z.record(z.unknown()).superRefine((value, ctx) => {
    const problem = jsonBoundProblem(value, maxBytes);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  });
}

/** Levels of `and` / `or` / `not` in a filter, counted without recursion. */
export function filterDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length) {
    const [item, depth] = pending.pop()!;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth);
    const node = item as { and?: unknown; or?: unknown; not?: unknown };
    for (const children of [node.and, node.or]) {
      if (Array.isArray(children)) for (const child of children) pending.push([child, depth + 1]);
    }
    if (node.not !== undefined) pending.push([node.not, depth + 1]);
  }
  return deepest;
}
