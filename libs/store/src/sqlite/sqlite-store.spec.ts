import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { afterAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import type { AgentEvent } from '@drover/contracts';
import type { NewCommit } from '../agent-streams.port';
import type { Store } from '../store.port';
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
