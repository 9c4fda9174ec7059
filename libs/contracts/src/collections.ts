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
  lastSeenAt: string;
  expiresAt: string;
}
