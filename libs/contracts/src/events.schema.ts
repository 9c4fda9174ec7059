import { z } from 'zod';
import { AgentSchedule } from './commands.schema';
import { AgentEgress } from './egress.schema';
import { AgentId, AgentLabels, BehaviorName, IsoDateTime, SealedSecrets } from './ids.schema';

export const AGENT_STATUSES = [
  'idle',
  'queued',
  'starting',
  'running',
  'stopping',
  'stopped',
  'interrupted',
  'failed',
  'paused',
] as const;
export const AgentStatus = z.enum(AGENT_STATUSES);
export type AgentStatus = z.infer<typeof AgentStatus>;

const event = <T extends string, D extends z.ZodTypeAny>(type: T, data: D) =>
  z.object({ type: z.literal(type), data }).strict();

/** Every transition of an agent, in past tense. `data` is what `evolve` needs. */
export const AgentStartRequested = event(
  'agent.start-requested',
  z
    .object({
      behavior: BehaviorName,
      config: z.record(z.unknown()),
      proxy: z.string().optional(),
      attempt: z.number().int().nonnegative(),
      /** The schedule of this run, if any (a start without one removes the previous one). */
      schedule: AgentSchedule.optional(),
      /** The start's sealed secrets (see `StartAgentPayload`). */
      secrets: SealedSecrets.optional(),
      /** The agent's own egress allow rules of this run, if any. */
      egress: AgentEgress.optional(),
      /** The agent's labels of this run, if any. */
      labels: AgentLabels.optional(),
    })
    .strict(),
);
export const AgentQueued = event('agent.queued', z.object({ reason: z.string() }).strict());
export const AgentDequeued = event('agent.dequeued', z.object({ attempt: z.number().int().nonnegative() }).strict());
export const AgentStarted = event(
  'agent.started',
  z.object({ instanceId: z.string(), attempt: z.number().int().nonnegative() }).strict(),
);
export const AgentStopRequested = event(
  'agent.stop-requested',
  /**
   * `requeue`: the stop is a rotation; once stopped, the agent is queued again instead.
   * `restart`: the stop is a restart; once stopped, the agent is started again with its last start.
   */
  z
    .object({ reason: z.string().optional(), requeue: z.boolean().optional(), restart: z.boolean().optional() })
    .strict(),
);
export const AgentStopped = event('agent.stopped', z.object({ reason: z.string().optional() }).strict());
export const AgentFailed = event('agent.failed', z.object({ error: z.string() }).strict());
export const AgentInterrupted = event(
  'agent.interrupted',
  z.object({ reason: z.string(), retryAt: IsoDateTime.optional() }).strict(),
);
export const AgentRestarted = event('agent.restarted', z.object({ attempt: z.number().int().nonnegative() }).strict());
/** The behaviour stops acting; the session keeps its slot and browser context (or will, once started). */
export const AgentPaused = event('agent.paused', z.object({ reason: z.string().optional() }).strict());
/** The behaviour runs again in the session it was paused in. */
export const AgentResumed = event('agent.resumed', z.object({}).strict());
/** The agent's labels were replaced. */
export const AgentLabeled = event('agent.labeled', z.object({ labels: AgentLabels }).strict());

export const AgentEvent = z.discriminatedUnion('type', [
  AgentStartRequested,
  AgentQueued,
  AgentDequeued,
  AgentStarted,
  AgentStopRequested,
  AgentStopped,
  AgentFailed,
  AgentInterrupted,
  AgentRestarted,
  AgentPaused,
  AgentResumed,
  AgentLabeled,
]);
export type AgentEvent = z.infer<typeof AgentEvent>;
export type AgentEventType = AgentEvent['type'];

/** A domain event as published on `drover.events` (routing key = `type`). */
export const PublishedAgentEvent = z
  .object({
    messageId: z.string(),
    type: z.string(),
    agentId: AgentId,
    version: z.number().int().positive(),
    commandId: z.string(),
    occurredAt: IsoDateTime,
    data: z.record(z.unknown()),
    /**
     * How many events the commit holds (they share its `version`). The read side applies a
     * commit of one event to the stored view; a commit of several, or an event without this
     * field (published by an older engine), makes it rebuild the view from the stream.
     */
    eventsInCommit: z.number().int().positive().optional(),
    /**
     * The correlation of the command that caused the event: its `correlationId` (the gateway's
     * `X-Request-Id`), or, for an event a session report caused, that of the command that started
     * the run (kept in the stream's commit metadata).
     */
    correlationId: z.string().min(1).max(128).optional(),
  })
  .strict();
export type PublishedAgentEvent = z.infer<typeof PublishedAgentEvent>;

/**
 * Outcome of a command that committed nothing, published by the engine on `drover.events`
 * with routing key `command.rejected` or `command.noop`, so the read side can answer
 * `GET /api/commands/{id}` for every command.
 */
export const CommandOutcome = z
  .object({
    messageId: z.string(),
    type: z.enum(['command.rejected', 'command.noop']),
    commandId: z.string(),
    agentId: AgentId,
    code: z.string(),
    message: z.string(),
    occurredAt: IsoDateTime,
  })
  .strict();
export type CommandOutcome = z.infer<typeof CommandOutcome>;
