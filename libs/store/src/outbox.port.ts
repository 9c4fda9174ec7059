import type { Commit } from './agent-streams.port';

export interface Outbox {
  /** Commits whose outbox was not relayed yet, oldest first, committed before `committedBefore`. */
  pending(limit: number, committedBefore?: string): Promise<Commit[]>;
  markDispatched(agentId: string, version: number, at: string): Promise<void>;
}
