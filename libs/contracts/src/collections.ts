/**
 * Read-side collections, owned by the persistence agent. Named here because the scheduler
 * reads them too, and no service may import another.
 */
export const Collections = {
  agents: 'agents',
  activities: 'activities',
  commands: 'commands',
  sessionAgents: 'session_agents',
  /** Filed by the persistence agent's dead-letter keeper (docs/dead-letters-and-load.md). */
  deadLetters: 'dead_letters',
  /** The live feed's entries, by position (`FeedEntry`, `_id` = `feedKey(position)`). */
  feed: 'feed',
} as const;

export const INTERNAL_COLLECTIONS: readonly string[] = Object.values(Collections);

/**
 * The generic-task collections session agents keep for their agents: saved cookies and behaviour
 * state. Named here because the persistence agent limits session agents to them.
 */
export const SessionCollections = {
  cookies: 'agent_cookies',
  state: 'agent_state',
} as const;

/** A session agent's liveness as the persistence agent records it from heartbeats. */
export interface SessionAgentRecord {
  _id: string;
  capacity: number;
  agentIds: string[];
  leaseMs: number;
  alive: boolean;
  /** The heartbeat's `occurredAt` (the session agent's clock); orders heartbeats. */
  lastSeenAt: string;
  /** `lastSeenAt + leaseMs`: for operators. The scheduler expires on its own clock instead. */
  expiresAt: string;
  /** When the persistence agent recorded the heartbeat (its own clock): how late heartbeats arrive. */
  receivedAt?: string;
}

/**
 * Indexes of the read side; bootstrap creates them, the persistence agent re-asserts them. Each
 * serves queries the services run in steady state (the read-side plan test checks every one of
 * them against this list): equality fields first, then the sort or range field, then `_id`, which
 * every sorted query ends with (the stores break ties by it), so no query sorts its matches.
 * Earlier versions declared `status` alone on agents and `agentId` alone on both logs; a store
 * that has them keeps them, unused but harmless.
 */
export const READ_SIDE_INDEXES: readonly { collection: string; fields: string[]; unique?: boolean }[] = [
  // Gateway: agents by status, paged by id; fleet gauges and the scheduler: counts by status.
  { collection: Collections.agents, fields: ['status', '_id'] },
  // Gateway: every agent, paged by id (SQLite ranges and sorts `_id` inside the document).
  { collection: Collections.agents, fields: ['_id'] },
  // Scheduler: due back-offs, slow starts, the longest queued, the longest running.
  { collection: Collections.agents, fields: ['status', 'retryAt'] },
  { collection: Collections.agents, fields: ['status', 'updatedAt'] },
  { collection: Collections.agents, fields: ['status', 'queuedAt', '_id'] },
  { collection: Collections.agents, fields: ['status', 'startedAt', '_id'] },
  // Scheduler: the agents of a session agent that is gone; agents with a schedule.
  { collection: Collections.agents, fields: ['instanceId'] },
  { collection: Collections.agents, fields: ['schedule.start'] },
  { collection: Collections.agents, fields: ['schedule.stop'] },
  // Gateway: an agent's activities, newest first, paged by id; retention's count per agent.
  { collection: Collections.activities, fields: ['agentId', '_id'] },
  // Retention: activities and command-log entries by age; the command log's count per agent.
  { collection: Collections.activities, fields: ['at'] },
  { collection: Collections.commands, fields: ['agentId', 'receivedAt'] },
  { collection: Collections.commands, fields: ['receivedAt'] },
  // Gateway: dead letters newest first, all or of one queue, paged by `key`; retention by age; counts by queue.
  { collection: Collections.deadLetters, fields: ['key'] },
  { collection: Collections.deadLetters, fields: ['queue', 'key'] },
  { collection: Collections.deadLetters, fields: ['deadLetteredAt'] },
  // Live feed: one entry per recorded event or activity (a redelivery appends nothing); an agent's entries after a position; retention by age.
  { collection: Collections.feed, fields: ['sourceId'], unique: true },
  { collection: Collections.feed, fields: ['agentId', '_id'] },
  { collection: Collections.feed, fields: ['occurredAt'] },
  // Gateway: what a command caused (`GET /api/commands/{id}`): its events, and those under its correlation.
  { collection: Collections.feed, fields: ['commandId', '_id'] },
  { collection: Collections.feed, fields: ['correlationId', '_id'] },
];
