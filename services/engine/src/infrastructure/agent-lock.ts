import { setTimeout as sleep } from 'node:timers/promises';
import type { Lease, Locks } from '@drover/store';

export class LockTimeoutError extends Error {
  constructor(agentId: string, waitedMs: number) {
    super(`agent ${agentId} stayed locked for ${waitedMs} ms`);
    this.name = 'LockTimeoutError';
  }
}

export interface AgentLockOptions {
  owner: string;
  ttlMs: number;
  waitMs: number;
  pollMs: number;
}

/**
 * The per-agent lock (docs/design.md, section 3), in two layers. Across engine replicas, the store's
 * lease: one process at a time. Within this process, a queue per agent: the lease is re-entrant
 * for its owner, so without it two messages for one agent would run side by side here, and
 * their commits could be relayed out of order.
 */
export class AgentLock {
  /** Per agent, the promise the next message waits for; removed when the queue drains. */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(
    private readonly locks: Locks,
    private readonly options: AgentLockOptions,
  ) {}

  async run<T>(agentId: string, work: (lease: Lease) => Promise<T>): Promise<T> {
    const previous = this.tails.get(agentId) ?? Promise.resolve();
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const tail = previous.then(() => done);
    this.tails.set(agentId, tail);
    try {
      await previous;
      return await withLease(this.locks, agentId, this.options, work);
    } finally {
      finished();
      if (this.tails.get(agentId) === tail) this.tails.delete(agentId);
    }
  }

  /** Agents with messages running or waiting here (for tests and diagnostics). */
  get busyAgents(): number {
    return this.tails.size;
  }
}

/** Waits for the agent's lease, runs `work`, releases. */
async function withLease<T>(
  locks: Locks,
  agentId: string,
  options: AgentLockOptions,
  work: (lease: Lease) => Promise<T>,
): Promise<T> {
  const key = `agent:${agentId}`;
  const deadline = Date.now() + options.waitMs;
  let lease = await locks.acquire(key, options.owner, options.ttlMs);
  while (!lease) {
    if (Date.now() > deadline) throw new LockTimeoutError(agentId, options.waitMs);
    await sleep(options.pollMs);
    lease = await locks.acquire(key, options.owner, options.ttlMs);
  }
  try {
    return await work(lease);
  } finally {
    await locks.release(lease);
  }
}
