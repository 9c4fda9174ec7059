/**
 * What the console reads from the API, as the OpenAPI document (`/openapi.json`) describes it.
 * Written out here rather than imported from `@drover/contracts`: those are zod schemas for
 * Node, and the console is a plain HTTP client of the gateway.
 */

export const STATUSES = [
  'idle',
  'queued',
  'starting',
  'running',
  'paused',
  'stopping',
  'stopped',
  'interrupted',
  'failed',
] as const;
export type AgentStatus = (typeof STATUSES)[number];

/**
 * The agents' domain events (`AgentEvent` in libs/contracts). The fleet table asks the stream for
 * these only: activities, far more numerous, change no row.
 */
export const AGENT_EVENT_TYPES = [
  'agent.start-requested',
  'agent.queued',
  'agent.dequeued',
  'agent.started',
  'agent.stop-requested',
  'agent.stopped',
  'agent.failed',
  'agent.interrupted',
  'agent.restarted',
  'agent.paused',
  'agent.resumed',
  'agent.labeled',
] as const;

export interface AgentView {
  agentId: string;
  status: AgentStatus;
  behavior?: string;
  config?: Record<string, unknown>;
  proxy?: string;
  schedule?: { start?: string; stop?: string; timezone?: string };
  egress?: unknown;
  labels?: Record<string, string>;
  attempts: number;
  version: number;
  instanceId?: string;
  startedAt?: string;
  stoppedAt?: string;
  queuedAt?: string;
  retryAt?: string;
  lastError?: string;
  createdAt?: string;
  updatedAt?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ActivityView {
  id: string;
  agentId: string;
  kind: string;
  ok: boolean;
  message?: string;
  details?: Record<string, unknown>;
  at: string;
}

/** One message of the live stream (`GET /api/events`, `GET /api/agents/{id}/events`). */
export interface FeedEntry {
  id: string;
  kind: 'event' | 'activity';
  type: string;
  agentId: string;
  occurredAt: string;
  /** The agent's status after the event. */
  status?: string;
  version?: number;
  commandId?: string;
  correlationId?: string;
  data: unknown;
}

/** The JSON Schema of a behaviour's config (`GET /api/behaviors`); secret fields are marked. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  examples?: unknown[];
  minimum?: number;
  writeOnly?: boolean;
  'x-drover-secret'?: boolean | string;
}

export interface Behavior {
  name: string;
  description: string;
  requires: string[];
  configSchema: JsonSchema;
}

/** `202` answers of start, stop, restart, pause and resume. */
export interface CommandAnswer {
  agentId: string;
  status: string;
  commandId: string;
  outcome?: string;
}

export type AgentAction = 'stop' | 'restart' | 'pause' | 'resume';

export interface BulkResult {
  matched: number;
  results: {
    agentId: string;
    ok: boolean;
    status?: string;
    commandId?: string;
    outcome?: string;
    error?: { code: string; message: string };
  }[];
}

export interface FleetLoad {
  statusCounts: Record<string, number>;
  sessionAgents: { instanceId: string; capacity: number; sessions: number; alive: boolean; lastSeenAt?: string }[];
  queued: number;
  queues: { name: string; messages: number; consumers: number }[];
  /** Set when some queue depths could not be read. */
  queuesNote?: string;
  deadLetters: { total: number; byQueue: Record<string, number> };
}

export interface DeadLetterView {
  id: string;
  /** The queue the message died in. */
  queue: string;
  deadLetterQueue?: string;
  exchange: string;
  routingKey: string;
  messageId: string;
  type?: string;
  agentId?: string;
  reason: string;
  deadLetteredAt: string;
  deaths: number;
  body: unknown;
  replayable: boolean;
  /** Why it may not be replayed (absent when it may). */
  notReplayableReason?: string;
  replays: { messageId: string; at: string }[];
}

export interface ReplayAnswer {
  deadLetterId: string;
  messageId: string;
}
