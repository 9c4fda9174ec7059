import { z } from 'zod';
import { AgentId, AgentLabels, BehaviorName } from './ids.schema';
import { DeadLetterId } from './dead-letters.schema';
import { AgentStatus } from './events.schema';
import { BoundedFilter, SortSchema, UpdateSchema } from './filter.schema';
import { boundedObject, Limits } from './limits';

/** Collections the persistence agent owns; generic tasks may not touch the internal ones. */
export const CollectionName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, 'collection names are lower-case snake_case');

const Limit = z.number().int().min(1).max(1000);

/**
 * The session a write is made for (a cookie save, a behaviour's state). The persistence agent
 * refuses the write (`stale_session`) once that session is no longer the agent's current one:
 * a session agent that lost its lease must not overwrite what its successor saved.
 */
export const SessionRef = z
  .object({
    agentId: AgentId,
    attempt: z.number().int().nonnegative(),
    instanceId: z.string().min(1).max(128),
  })
  .strict();
export type SessionRef = z.infer<typeof SessionRef>;

/** Generic storage tasks, sent to `drover.persistence` with routing key `task` (request/reply). */
export const PersistenceTask = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('find'),
      collection: CollectionName,
      filter: BoundedFilter.optional(),
      sort: SortSchema.optional(),
      limit: Limit.optional(),
      skip: z.number().int().nonnegative().optional(),
    })
    .strict(),
  z.object({ op: z.literal('findOne'), collection: CollectionName, filter: BoundedFilter.optional() }).strict(),
  z
    .object({
      op: z.literal('insert'),
      collection: CollectionName,
      document: boundedObject(Limits.documentBytes),
      session: SessionRef.optional(),
    })
    .strict(),
  z
    .object({
      op: z.literal('update'),
      collection: CollectionName,
      filter: BoundedFilter,
      update: UpdateSchema,
      session: SessionRef.optional(),
    })
    .strict(),
  z
    .object({
      op: z.literal('upsert'),
      collection: CollectionName,
      id: z.string().min(1).max(256),
      document: boundedObject(Limits.documentBytes),
      session: SessionRef.optional(),
    })
    .strict(),
  z
    .object({
      op: z.literal('delete'),
      collection: CollectionName,
      filter: BoundedFilter,
      session: SessionRef.optional(),
    })
    .strict(),
  z.object({ op: z.literal('count'), collection: CollectionName, filter: BoundedFilter.optional() }).strict(),
]);
export type PersistenceTask = z.infer<typeof PersistenceTask>;

/** Read-side queries the gateway asks the persistence agent (same exchange, routing key `query`). */
export const ReadQuery = z.discriminatedUnion('query', [
  z.object({ query: z.literal('agent.get'), agentId: AgentId }).strict(),
  z
    .object({
      query: z.literal('agent.list'),
      status: AgentStatus.optional(),
      behavior: BehaviorName.optional(),
      /** Every one of these labels, with these values (AND). */
      labels: AgentLabels.optional(),
      limit: Limit.default(50),
      cursor: z.string().max(200).optional(),
    })
    .strict(),
  z
    .object({
      query: z.literal('activity.list'),
      agentId: AgentId,
      limit: Limit.default(50),
      cursor: z.string().max(200).optional(),
    })
    .strict(),
  z.object({ query: z.literal('command.get'), commandId: z.string().min(1).max(128) }).strict(),
  z
    .object({
      query: z.literal('deadLetter.list'),
      queue: z.string().min(1).max(255).optional(),
      limit: Limit.default(50),
      cursor: z.string().max(200).optional(),
    })
    .strict(),
  z.object({ query: z.literal('deadLetter.get'), id: DeadLetterId }).strict(),
  /** The read side's part of the fleet load summary (`GET /api/fleet`). */
  z.object({ query: z.literal('fleet.summary') }).strict(),
  /** Live feed entries after a position, oldest first (`FeedEntry`); `agentId` narrows to one agent. */
  z
    .object({
      query: z.literal('feed.list'),
      after: z
        .string()
        .regex(/^[0-9]{1,15}$/)
        .optional(),
      agentId: AgentId.optional(),
      limit: Limit.default(500),
    })
    .strict(),
  /** Readiness: answers once the persistence agent's store round trip succeeds. */
  z.object({ query: z.literal('health') }).strict(),
]);
export type ReadQuery = z.infer<typeof ReadQuery>;

/** Every persistence reply: a result or an error with a code the gateway maps to HTTP. */
export type PersistenceReply<T = unknown> =
  | { ok: true; result: T }
  | {
      ok: false;
      error: {
        code: 'invalid_task' | 'not_found' | 'forbidden' | 'conflict' | 'stale_session' | 'internal';
        message: string;
        details?: unknown;
      };
    };
