import type { z } from 'zod';
import { describeZodError, fieldIssues, type FieldIssue } from '@drover/contracts';
import type { Logger } from '@drover/runtime';
import type { Delivery, Outcome } from './bus.port';
import { deadLetter } from './outcomes';

/** A delivery's body as the consumer's schema reads it, or why it cannot be one. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; outcome: Outcome; reason: string; issues: FieldIssue[] };

/**
 * The first step of every bus consumer: parses the body with `schema`; a message that fails is
 * dead-lettered at once (a retry cannot fix it) with `invalid <what>: <issues>` as the reason.
 */
export function parseOrDeadLetter<S extends z.ZodTypeAny>(
  delivery: Delivery,
  schema: S,
  what: string,
  logger?: Logger,
): Parsed<z.output<S>> {
  const parsed = schema.safeParse(delivery.body);
  if (parsed.success) return { ok: true, value: parsed.data as z.output<S> };
  const reason = `invalid ${what}: ${describeZodError(parsed.error)}`;
  logger?.warn({ messageId: delivery.messageId, routingKey: delivery.routingKey, reason }, `dead-lettering ${what}`);
  return { ok: false, outcome: deadLetter(reason), reason, issues: fieldIssues(parsed.error) };
}
