import { setTimeout as sleep } from 'node:timers/promises';
import type { Lease, Locks } from '@drover/store';

export class LockTimeoutError extends Error {
  constructor(agentId: string, waitedMs: number) {
    super(`agent ${agentId} stayed locked for ${waitedMs} ms`);
    this.name = 'LockTimeoutError';
  }
}

/** The lease was taken over (or could not be renewed in time): the work on the agent must stop. */
export class LeaseLostError extends Error {
  constructor(agentId: string, why: string) {
    super(`lease of agent ${agentId} lost: ${why}`);
    this.name = 'LeaseLostError';
  }
}

export interface AgentLockOptions {
  owner: string;
  /** The lease's time to live; renewed every third of it while the work runs. */
  ttlMs: number;
  waitMs: number;
  pollMs: number;
}

/** What the work gets: the lease to state on appends, and a signal aborted once it is lost. */
export interface HeldLease {
  lease: Lease;
  signal: AbortSignal;
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

  async run<T>(agentId: string, work: (held: HeldLease) => Promise<T>): Promise<T> {
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

/**
 * Waits for the agent's lease, runs `work` while renewing it every third of its time to live,
 * releases. When a renewal is refused (the lease expired and was taken over), or none succeeded
 * before the lease ran out (the store is unreachable), the signal given to `work` is aborted:
 * the holder stops working on the agent. The store's fencing refuses its appends anyway; the
 * signal also keeps it from relaying what the next holder now owns.
 */
async function withLease<T>(
  locks: Locks,
  agentId: string,
  options: AgentLockOptions,
  work: (held: HeldLease) => Promise<T>,
): Promise<T> {
  const key = `agent:${agentId}`;
  const deadline = Date.now() + options.waitMs;
  let lease = await locks.acquire(key, options.owner, options.ttlMs);
  while (!lease) {
    if (Date.now() > deadline) throw new LockTimeoutError(agentId, options.waitMs);
    await sleep(options.pollMs);
    lease = await locks.acquire(key, options.owner, options.ttlMs);
  }
  const held = lease;
  const lost = new AbortController();
  const loseIt = (why: string) => {
    if (!lost.signal.aborted) lost.abort(new LeaseLostError(agentId, why));
  };
  let expiresAt = held.expiresAt;
  // Checked on every tick, not only when a renewal answers: a renewal may hang on a dead store.
  const renewal = setInterval(
    () => {
      if (Date.now() >= expiresAt) return loseIt('not renewed before it expired');
      locks.renew(held, options.ttlMs).then(
        (renewed) => (renewed ? (expiresAt = renewed.expiresAt) : loseIt('expired or taken over')),
        () => undefined, // the next tick retries, until the lease runs out
      );
    },
    Math.max(1, Math.floor(options.ttlMs / 3)),
  );
  try {
    return await work({ lease: held, signal: lost.signal });
  } finally {
    clearInterval(renewal);
    if (!lost.signal.aborted) await locks.release(held);
  }
}
