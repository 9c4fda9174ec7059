/**
 * Read-side collections, owned by the persistence agent. Named here because the scheduler
 * reads them too, and no service may import another.
 */
export const Collections = {
  agents: 'agents',
  activities: 'activities',
  commands: 'commands',
  sessionAgents: 'session_agents',
} as const;

export const INTERNAL_COLLECTIONS: readonly string[] = Object.values(Collections);

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
 * Indexes of the read side; bootstrap creates them, the persistence agent re-asserts them.
 * `agentId` then an order serves an agent's newest-first activity pages and retention's count per
 * agent; the time fields serve retention's age limit (README, "Retention"). Earlier versions
 * declared `agentId` alone on both logs; a store that has it keeps it, unused but harmless.
 */
export const READ_SIDE_INDEXES: readonly { collection: string; fields: string[]; unique?: boolean }[] = [
  { collection: Collections.agents, fields: ['status'] },
  { collection: Collections.activities, fields: ['agentId', '_id'] },
  { collection: Collections.activities, fields: ['at'] },
  { collection: Collections.commands, fields: ['agentId', 'receivedAt'] },
  { collection: Collections.commands, fields: ['receivedAt'] },
];
