import { z } from 'zod';
import { AgentId, IsoDateTime } from './ids.schema';
import { AgentStatus } from './events.schema';

/**
 * One entry of the live feed (`GET /api/events`, server-sent events): a domain event the engine
 * committed or an activity a session reported, in the one order the persistence agent gave them
 * when it recorded them. `id` is the entry's position in that order (a decimal string; opaque to
 * clients, who hand it back as `Last-Event-ID` to resume after it).
 */
export const FeedEntry = z
  .object({
    id: z.string().regex(/^[0-9]{1,15}$/),
    kind: z.enum(['event', 'activity']),
    /** The event's type (`agent.started`) or the activity's kind (`feed.session`). */
    type: z.string(),
    agentId: AgentId,
    occurredAt: IsoDateTime,
    /** Events: the agent's status after the event, as the read side saw it. */
    status: AgentStatus.optional(),
    /** Events: the commit's version in the agent's stream. */
    version: z.number().int().positive().optional(),
    /** Events: the command the commit was made for. */
    commandId: z.string().optional(),
    /** The `X-Request-Id` of the API call (or the id of the command) that caused it, when known. */
    correlationId: z.string().optional(),
    /** Events: the event's data (secrets redacted); activities: `{ ok, message?, details?, instanceId }`. */
    data: z.record(z.unknown()),
  })
  .strict();
export type FeedEntry = z.infer<typeof FeedEntry>;

/** Routing key prefix of feed entries on `drover.events` (`feed.event`, `feed.activity`). */
export const FEED_ROUTING_PREFIX = 'feed';

/** The largest feed position a `Last-Event-ID` may name (15 digits, below 2^53). */
export const FEED_ID_PATTERN = /^[0-9]{1,15}$/;

/** The stored `_id` of a feed position: zero-padded, so string order is position order. */
export function feedKey(position: number): string {
  return String(position).padStart(15, '0');
}

/** A comma-separated list, or the parameter repeated (`type=a&type=b`), as a list of values. */
const ListParam = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(',')).filter(Boolean))
  .pipe(z.array(z.string().min(1).max(64)).max(50));

/**
 * `GET /api/events` query: which entries to send (all given filters must match) and where to
 * resume (`lastEventId`, for clients that cannot set the `Last-Event-ID` header).
 */
export const FeedQuery = z
  .object({
    agentId: AgentId.optional(),
    /** Event types or activity kinds, e.g. `agent.started,agent.failed` or `activity`: every activity. */
    type: ListParam.optional(),
    /** Only events after which the agent has this status (activities carry no status). */
    status: AgentStatus.optional(),
    lastEventId: z.string().regex(FEED_ID_PATTERN, 'a feed id is a decimal number').optional(),
  })
  .strict();
export type FeedQuery = z.infer<typeof FeedQuery>;

/** `GET /api/agents/{agentId}/events` query: as `FeedQuery`, the agent being the path's. */
export const AgentFeedQuery = FeedQuery.omit({ agentId: true });

/** True when the entry passes the query's filters. `type=activity` selects every activity. */
export function feedEntryMatches(entry: FeedEntry, query: Omit<FeedQuery, 'lastEventId'>): boolean {
  if (query.agentId !== undefined && entry.agentId !== query.agentId) return false;
  if (query.status !== undefined && entry.status !== query.status) return false;
  if (query.type?.length && !query.type.some((type) => type === entry.type || type === entry.kind)) return false;
  return true;
}
