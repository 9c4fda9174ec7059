/**
 * Small per-agent key/value state a behaviour keeps across restarts and hosts (daily caps,
 * last seen values), stored through the persistence agent.
 */
export interface AgentStorage {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

/** An in-process AgentStorage, for tests and single-process tools. */
export class MemoryAgentStorage implements AgentStorage {
  private readonly values = new Map<string, string>();

  async get<T>(key: string): Promise<T | undefined> {
    const raw = this.values.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async set(key: string, value: unknown): Promise<void> {
    this.values.set(key, JSON.stringify(value));
  }
}
