import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { afterAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import type { AgentEvent } from '@drover/contracts';
import type { NewCommit } from '../agent-streams.port';
import type { Store } from '../store.port';
import { isStoreUnavailable } from '../store-errors';
import { storeContract } from '../testing/store-contract';
import { SQLITE_FILE_NAME, openSqliteStore } from './sqlite-store';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'drover-store-'));
}

storeContract('sqlite :memory:', async () => openSqliteStore({ filename: ':memory:' }));

const dataDir = tempDir();
storeContract(
  'sqlite dataDir',
  async () => openSqliteStore({ dataDir: join(dataDir, 'nested') }),
  async (store) => {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  },
);

describe('sqlite store shared by two connections', () => {
  const dir = tempDir();
  const first = openSqliteStore({ dataDir: dir });
  const second = openSqliteStore({ dataDir: dir });
  afterAll(async () => {
    await first.close();
    await second.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const commit = (commandId: string, version: number): NewCommit => ({
    agentId: 'shared-agent',
    version,
    commandId,
    events: [{ type: 'agent.stopped', data: {} } satisfies AgentEvent],
    outbox: [],
    committedAt: new Date().toISOString(),
  });

  /** A lease of the writer's own, so only the version check decides between the two connections. */
  const fenceOf = async (store: Store, owner: string) => {
    const lease = await store.locks.acquire(`writer:${owner}`, owner, 60_000);
    assert.ok(lease);
    return lease;
  };

  it("sees the other connection's writes", async () => {
    expect((await first.streams.append(commit('c1', 1), await fenceOf(first, 'one'))).status).toBe('appended');
    expect((await second.streams.load('shared-agent')).map((c) => c.commandId)).toEqual(['c1']);
    await second.documents.collection('things').insert({ _id: 't1', n: 1 });
    expect(await first.documents.collection('things').get('t1')).toEqual({ _id: 't1', n: 1 });
    const lease = await second.locks.acquire('k', 'two', 10_000);
    expect(lease).toBeTruthy();
    expect(await first.locks.acquire('k', 'one', 10_000)).toBe(undefined);
  });

  it('lets exactly one of two concurrent appends of the same version win', async () => {
    const results = await Promise.all([
      first.streams.append(commit('c2-first', 2), await fenceOf(first, 'one')),
      second.streams.append(commit('c2-second', 2), await fenceOf(second, 'two')),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['appended', 'conflict']);
    expect((await first.streams.load('shared-agent')).length).toBe(2);
  });
});

describe('sqlite store readiness', () => {
  const dir = tempDir();
  const store = openSqliteStore({ dataDir: dir });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails its ping while another process holds the write lock, and passes once it is let go', async () => {
    await store.ping();
    // Another process stuck inside a write transaction: reads still pass, no write can happen.
    const stuck = new Database(join(dir, SQLITE_FILE_NAME));
    stuck.exec('BEGIN IMMEDIATE');
    try {
      const started = Date.now();
      await expect(store.ping()).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      expect(Date.now() - started).toBeLessThan(2_000); // the probe's short wait, not the writers' 5 s
      expect(await store.documents.collection('things').find()).toEqual([]);
    } finally {
      stuck.exec('ROLLBACK');
      stuck.close();
    }
    await store.ping();
  });
});

describe('sqlite store writes while another process holds the write lock', () => {
  const dir = tempDir();
  const store = openSqliteStore({ dataDir: dir });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The longest the event loop went without running a 10 ms timer while `work` ran. */
  async function longestStall(work: Promise<unknown>): Promise<number> {
    let last = Date.now();
    let longest = 0;
    const timer = setInterval(() => {
      longest = Math.max(longest, Date.now() - last);
      last = Date.now();
    }, 10);
    try {
      await work;
    } finally {
      clearInterval(timer);
    }
    return longest;
  }

  it('waits off the event loop and lands the write once the lock is let go', async () => {
    const stuck = new Database(join(dir, SQLITE_FILE_NAME));
    stuck.exec('BEGIN IMMEDIATE');
    setTimeout(() => {
      stuck.exec('ROLLBACK');
      stuck.close();
    }, 1_500);
    const things = store.documents.collection('things');
    const writes = Promise.all([
      things.insert({ _id: 'a', n: 1 }),
      store.locks.acquire('agent:a', 'engine-1', 10_000),
      store.streams.load('a'),
    ]);
    // One attempt waits at most 25 ms inside SQLite; the rest of the 1.5 s passes between attempts,
    // where heartbeats, lease renewals and health answers run. The bound leaves room for a busy CI.
    expect(await longestStall(writes)).toBeLessThan(500);
    expect(await things.get('a')).toEqual({ _id: 'a', n: 1 });
    expect((await writes)[1]).toMatchObject({ key: 'agent:a', owner: 'engine-1' });
  });

  it('reports the store unavailable after five seconds of a lock that is not let go', async () => {
    const stuck = new Database(join(dir, SQLITE_FILE_NAME));
    stuck.exec('BEGIN IMMEDIATE');
    try {
      const write = store.documents.collection('things').upsert({ _id: 'b', n: 2 });
      await expect(write).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      expect(isStoreUnavailable(await write.catch((error: unknown) => error))).toBe(true);
    } finally {
      stuck.exec('ROLLBACK');
      stuck.close();
    }
    await store.documents.collection('things').upsert({ _id: 'b', n: 2 });
    expect(await store.documents.collection('things').get('b')).toEqual({ _id: 'b', n: 2 });
  }, 15_000);
});
