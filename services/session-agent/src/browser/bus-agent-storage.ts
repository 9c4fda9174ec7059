import type { AgentStorage } from '@drover/behaviors';
import type { SessionRef } from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import { runTask } from './persistence-client';

export const AGENT_STATE_COLLECTION = 'agent_state';

/**
 * `AgentStorage` kept by the persistence agent (`agent_state`, one document per agent and key).
 * Writes name the session they are made for, so a stale session's are refused.
 */
export class BusAgentStorage implements AgentStorage {
  private readonly agentId: string;

  constructor(
    private readonly bus: Bus,
    private readonly session: SessionRef,
  ) {
    this.agentId = session.agentId;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const doc = await runTask<{ value?: T } | null>(this.bus, {
      op: 'findOne',
      collection: AGENT_STATE_COLLECTION,
      filter: { field: '_id', op: 'eq', value: this.id(key) },
    });
    return doc?.value;
  }

  async set(key: string, value: unknown): Promise<void> {
    await runTask(this.bus, {
      op: 'upsert',
      collection: AGENT_STATE_COLLECTION,
      id: this.id(key),
      document: { agentId: this.agentId, key, value, updatedAt: new Date().toISOString() },
      session: this.session,
    });
  }

  private id(key: string): string {
    return `${this.agentId}:${key}`;
  }
}
