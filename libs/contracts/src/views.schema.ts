import { z } from 'zod';
import { AgentSchedule } from './commands.schema';
import { AgentEgress } from './egress.schema';
import { AgentStatus } from './events.schema';
import { AgentLabels } from './ids.schema';

/** The read model of one agent, as the gateway serves it (secrets already redacted). */
export const AgentView = z.object({
  agentId: z.string(),
  status: AgentStatus,
  behavior: z.string().optional(),
  config: z.record(z.unknown()).optional(),
  proxy: z.string().optional(),
  /** The agent's cron schedule (no secrets, shown as declared). */
  schedule: AgentSchedule.optional(),
  /** The agent's own egress allow rules, as declared. */
  egress: AgentEgress.optional(),
  /** The agent's labels. */
  labels: AgentLabels.optional(),
  /** Paused by an operator: shown with status `paused` once placed (and kept through recovery). */
  paused: z.boolean().optional(),
  /** A restart is running: the agent starts again once stopped. */
  restart: z.boolean().optional(),
  attempts: z.number().int().nonnegative(),
  version: z.number().int().nonnegative(),
  instanceId: z.string().optional(),
  startedAt: z.string().optional(),
  stoppedAt: z.string().optional(),
  queuedAt: z.string().optional(),
  retryAt: z.string().optional(),
  lastError: z.string().optional(),
  /** A rotation stop is running: the agent queues again once stopped. */
  requeue: z.boolean().optional(),
  createdAt: z.string().optional(),
  updatedAt: z.string().optional(),
});
export type AgentView = z.infer<typeof AgentView>;

/** What the engine answers a request/reply caller. */
export type CommandReply =
  | { ok: true; commandId: string; agentId: string; outcome: 'accepted' | 'duplicate' | 'noop'; view: AgentView }
  | {
      ok: false;
      commandId: string;
      agentId: string;
      error: { code: string; message: string; details?: unknown };
    };

export const COMMAND_STATES = ['received', 'accepted', 'noop', 'rejected'] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

/** The read model of one command (`GET /api/commands/{id}`). */
export const CommandView = z.object({
  commandId: z.string(),
  agentId: z.string(),
  type: z.string(),
  state: z.enum(COMMAND_STATES),
  receivedAt: z.string().optional(),
  processedAt: z.string().optional(),
  version: z.number().int().optional(),
  status: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** Set on a replay (`POST /api/dead-letters/{id}/replay`): the dead letter it replays. */
  replayOf: z.string().optional(),
  /** The command's correlation (the `X-Request-Id` of the API call that sent it). */
  correlationId: z.string().optional(),
  /**
   * What the command caused, as the live feed recorded it (first 200, oldest first): the events
   * committed under the command and every later event under its correlation (the run it started:
   * `agent.started` after the session reported, stops, recoveries), with the feed id of each.
   */
  caused: z
    .array(
      z.object({
        feedId: z.string(),
        agentId: z.string(),
        version: z.number().int().optional(),
        type: z.string(),
        commandId: z.string().optional(),
        occurredAt: z.string(),
      }),
    )
    .optional(),
});
export type CommandView = z.infer<typeof CommandView>;

/** One entry of an agent's activity log (`GET /api/agents/{id}/activities`). */
export const ActivityView = z.object({
  /** Sortable key (`<ISO time>|<messageId>`); the pagination cursor. */
  id: z.string(),
  agentId: z.string(),
  kind: z.string(),
  ok: z.boolean(),
  message: z.string().optional(),
  details: z.record(z.unknown()).optional(),
  instanceId: z.string().optional(),
  at: z.string(),
});
export type ActivityView = z.infer<typeof ActivityView>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A page of a list answer: the items, and the cursor of the next page (`null` on the last). */
export const pageOf = <T extends z.ZodTypeAny>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
