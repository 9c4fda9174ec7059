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

/** The per-agent lease of DESIGN.md section 3: waits for it, runs `work`, releases. */
export async function withAgentLock<T>(
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
