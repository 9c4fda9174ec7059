import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Locks } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { AgentLock, LeaseLostError, LockTimeoutError } from './agent-lock';

const options = (owner: string) => ({ owner, ttlMs: 10_000, waitMs: 200, pollMs: 5 });

/** Runs `work` under the lock and records when it started and ended. */
function traced(lock: AgentLock, agentId: string, name: string, trace: string[], ms = 20, fail = false) {
  return lock.run(agentId, async () => {
    trace.push(`${name}:start`);
    await sleep(ms);
    trace.push(`${name}:end`);
    if (fail) throw new Error(`${name} failed`);
    return name;
  });
}

describe('AgentLock', () => {
  it('runs one agent’s messages one at a time in arrival order within a process', async () => {
    const store = openSqliteStore({ filename: ':memory:' });
    const lock = new AgentLock(store.locks, options('engine-1'));
    const trace: string[] = [];
    const results = await Promise.allSettled([
      traced(lock, 'a', 'first', trace),
      traced(lock, 'a', 'second', trace, 5, true),
      traced(lock, 'a', 'third', trace, 1),
    ]);
    expect(trace).toEqual(['first:start', 'first:end', 'second:start', 'second:end', 'third:start', 'third:end']);
    // A failure is the caller's; the next message still runs.
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(lock.busyAgents).toBe(0);
    await store.close();
  });

  it('runs different agents side by side', async () => {
    const store = openSqliteStore({ filename: ':memory:' });
    const lock = new AgentLock(store.locks, options('engine-1'));
    const trace: string[] = [];
    await Promise.all([traced(lock, 'a', 'a', trace), traced(lock, 'b', 'b', trace)]);
    expect(trace.slice(0, 2).sort()).toEqual(['a:start', 'b:start']);
    await store.close();
  });

  it('waits for another process’s lease, and gives up after waitMs', async () => {
    const store = openSqliteStore({ filename: ':memory:' });
    const mine = new AgentLock(store.locks, options('engine-1'));
    const held = await store.locks.acquire('agent:a', 'engine-2', 10_000);
    assert.ok(held);
    await assert.rejects(
      mine.run('a', async () => 'ran'),
      LockTimeoutError,
    );
    await store.locks.release(held);
    expect(await mine.run('a', async () => 'ran')).toBe('ran');
    await store.close();
  });

  it('renews the lease while the work runs, so no one else can take the agent', async () => {
    const store = openSqliteStore({ filename: ':memory:' });
    const mine = new AgentLock(store.locks, { ...options('engine-1'), ttlMs: 60 });
    const work = mine.run('a', async ({ signal }) => {
      await sleep(250);
      return signal.aborted;
    });
    await sleep(150); // more than twice the time to live
    expect(await store.locks.acquire('agent:a', 'engine-2', 60)).toBe(undefined);
    expect(await work).toBe(false);
    await store.close();
  });

  /** Runs work that waits for its signal; resolves with the abort reason, or 'not aborted'. */
  const abortReason = (lock: AgentLock) =>
    lock.run('a', ({ signal }) =>
      Promise.race([
        new Promise<unknown>((resolve) => signal.addEventListener('abort', () => resolve(signal.reason))),
        sleep(2_000).then(() => 'not aborted'),
      ]),
    );

  it('aborts the work once a renewal is refused (the lease was taken over)', async () => {
    const store = openSqliteStore({ filename: ':memory:' });
    const refusing: Locks = { ...bound(store.locks), renew: async () => undefined };
    const reason = await abortReason(new AgentLock(refusing, { ...options('engine-1'), ttlMs: 60 }));
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect((reason as Error).message).toMatch(/expired or taken over/);
    await store.close();
  });

  it('aborts the work when no renewal answers before the lease expires (store unreachable)', async () => {
    const store = openSqliteStore({ filename: ':memory:' });
    const hanging: Locks = { ...bound(store.locks), renew: () => new Promise(() => undefined) };
    const reason = await abortReason(new AgentLock(hanging, { ...options('engine-1'), ttlMs: 60 }));
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect((reason as Error).message).toMatch(/not renewed before it expired/);
    await store.close();
  });
});

/** The store's locks as plain functions, so a test can replace one of them. */
function bound(locks: Locks): Locks {
  return {
    acquire: (key, owner, ttlMs) => locks.acquire(key, owner, ttlMs),
    renew: (lease, ttlMs) => locks.renew(lease, ttlMs),
    release: (lease) => locks.release(lease),
  };
}
