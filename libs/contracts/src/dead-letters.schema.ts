import { z } from 'zod';
import { SealedSecrets } from './ids.schema';
import { redactConfig } from './redact';

/**
 * Dead letters as the read side files them (docs/dead-letters-and-load.md): the persistence
 * agent's dead-letter keeper consumes every dead-letter queue and keeps one document per dead
 * letter in `dead_letters`, which the gateway lists, shows and replays.
 */

/** Header a replay carries: the id of the dead letter it replays (the command log records it as `replayOf`). */
export const REPLAY_OF_HEADER = 'x-drover-replay-of';

/** Prefix of the message id a replay is published with (`replay:<uuid>`). */
export const REPLAY_ID_PREFIX = 'replay:';

/** A dead letter's id: 32 hex characters (a digest of its queue and message id). */
export const DeadLetterId = z.string().regex(/^[0-9a-f]{32}$/, 'a dead-letter id is 32 lower-case hex characters');

export const DeadLetterReplay = z.object({ messageId: z.string(), at: z.string() });
export type DeadLetterReplay = z.infer<typeof DeadLetterReplay>;

/** One dead letter, as `GET /api/dead-letters/{id}` shows it (the body is redacted). */
export const DeadLetterView = z.object({
  id: DeadLetterId,
  /** The queue the message died in (for `session-agents.dead`: the session agent's own queue). */
  queue: z.string(),
  /** The dead-letter queue it was filed from. */
  deadLetterQueue: z.string(),
  /** Where it was first published: a replay goes back there. */
  exchange: z.string(),
  routingKey: z.string(),
  messageId: z.string(),
  type: z.string().optional(),
  agentId: z.string().optional(),
  /** Why it died (`x-drover-death-reason`, or the broker's `x-first-death-reason`). */
  reason: z.string(),
  deadLetteredAt: z.string(),
  /** When the keeper filed it (later than `deadLetteredAt` when no persistence agent ran meanwhile). */
  filedAt: z.string(),
  /** How often the broker dead-lettered it (`x-death` count); 1 for a dead letter Drover's code settled. */
  deaths: z.number().int().nonnegative(),
  /** Headers worth showing (the death headers, the instance, the original sender). */
  headers: z.record(z.unknown()),
  /** The message body with secret-looking values replaced by `***` (sealed secrets are kept, they are ciphertext). */
  body: z.unknown(),
  replayable: z.boolean(),
  /** Why it may not be replayed (absent when it may). */
  notReplayableReason: z.string().optional(),
  replays: z.array(DeadLetterReplay),
});
export type DeadLetterView = z.infer<typeof DeadLetterView>;

/** `POST /api/dead-letters/{id}/replay` answer: the id the copy was published with. */
export const ReplayAccepted = z.object({ deadLetterId: DeadLetterId, messageId: z.string() });
export type ReplayAccepted = z.infer<typeof ReplayAccepted>;

export const SessionAgentLoad = z.object({
  instanceId: z.string(),
  capacity: z.number().int().nonnegative(),
  /** Agents it hosts (its last heartbeat's list). */
  sessions: z.number().int().nonnegative(),
  alive: z.boolean(),
  lastSeenAt: z.string(),
});

export const QueueLoad = z.object({
  name: z.string(),
  /** Ready plus, as far as the gateway can tell, unacknowledged. */
  messages: z.number().int().nonnegative(),
  consumers: z.number().int().nonnegative(),
});

/** The read side's part of `GET /api/fleet` (query `fleet.summary`). */
export const FleetReadSide = z.object({
  statusCounts: z.record(z.number().int().nonnegative()),
  sessionAgents: z.array(SessionAgentLoad),
  /** Agents waiting for a slot (status `queued`). */
  queued: z.number().int().nonnegative(),
  deadLetters: z.object({ total: z.number().int().nonnegative(), byQueue: z.record(z.number().int().nonnegative()) }),
});
export type FleetReadSide = z.infer<typeof FleetReadSide>;

/** `GET /api/fleet`. */
export const FleetView = FleetReadSide.extend({
  queues: z.array(QueueLoad),
  /** Set when some queue depths could not be read (the gateway's broker user may not inspect them). */
  queuesNote: z.string().optional(),
});
export type FleetView = z.infer<typeof FleetView>;

/**
 * A dead letter's body as it may be stored: values under secret-looking keys replaced by `***`
 * and URLs without credentials (`redactConfig`, the one redaction policy), except a start's
 * `payload.secrets` when it is a sealed value (ciphertext only session agents open; keeping it
 * lets a sealed start be replayed). `changed` says whether redaction altered anything: such a
 * body is no longer the message that died, so it is not replayable.
 */
export function redactDeadLetterBody(body: unknown): { body: unknown; changed: boolean } {
  let sealed: string | undefined;
  let input = body;
  if (isRecord(body) && isRecord(body.payload) && SealedSecrets.safeParse(body.payload.secrets).success) {
    sealed = body.payload.secrets as string;
    const { secrets: _sealed, ...payload } = body.payload;
    input = { ...body, payload };
  }
  let redacted = redactConfig(input);
  if (sealed !== undefined && isRecord(redacted) && isRecord(redacted.payload)) {
    redacted = { ...redacted, payload: { ...redacted.payload, secrets: sealed } };
  }
  return { body: redacted, changed: JSON.stringify(redacted) !== JSON.stringify(body) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
