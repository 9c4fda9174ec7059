import { z } from 'zod';
import { AgentId, IsoDateTime, MessageId } from './ids.schema';
import { boundedObject, Limits } from './limits';

const reportEnvelope = <T extends string, P extends z.ZodTypeAny>(type: T, payload: P) =>
  z
    .object({
      messageId: MessageId,
      type: z.literal(type),
      agentId: AgentId,
      /** Session-agent instance that hosts (or refused) the session. */
      instanceId: z.string().min(1).max(128),
      /** Attempt number from the dispatch, so a late report of an old attempt is recognised. */
      attempt: z.number().int().nonnegative(),
      payload,
      occurredAt: IsoDateTime,
      /** The dispatch's correlation (the command that started the run), copied into every report. */
      correlationId: z.string().min(1).max(128).optional(),
    })
    .strict();

export const SessionStarted = reportEnvelope('session.started', z.object({}).strict());
export const SessionStopped = reportEnvelope(
  'session.stopped',
  z.object({ reason: z.string().max(500).optional() }).strict(),
);
export const SessionFailed = reportEnvelope('session.failed', z.object({ error: z.string().max(2000) }).strict());
/** The session agent had no free slot; the engine queues the agent. */
export const SessionDeferred = reportEnvelope('session.deferred', z.object({ reason: z.string().max(500) }).strict());

export const Activity = z
  .object({
    kind: z.string().min(1).max(64),
    ok: z.boolean(),
    message: z.string().max(Limits.activityMessageChars).optional(),
    details: boundedObject(Limits.activityDetailsBytes).optional(),
  })
  .strict();
export type Activity = z.infer<typeof Activity>;

export const SessionActivity = reportEnvelope('session.activity', Activity);

/** Reports the engine turns into transitions. */
export const SessionReport = z.discriminatedUnion('type', [
  SessionStarted,
  SessionStopped,
  SessionFailed,
  SessionDeferred,
]);
export type SessionReport = z.infer<typeof SessionReport>;
export type SessionActivity = z.infer<typeof SessionActivity>;
export const SESSION_REPORT_TYPES = SessionReport.options.map((o) => o.shape.type.value);

/** Liveness of a session-agent process; the scheduler expires its lease. */
export const SessionHeartbeat = z
  .object({
    messageId: MessageId,
    type: z.literal('session.heartbeat'),
    instanceId: z.string().min(1).max(128),
    capacity: z.number().int().nonnegative(),
    agentIds: z.array(AgentId),
    leaseMs: z.number().int().positive(),
    /** false when the process is shutting down: its agents are handed off at once. */
    alive: z.boolean(),
    occurredAt: IsoDateTime,
  })
  .strict();
export type SessionHeartbeat = z.infer<typeof SessionHeartbeat>;
