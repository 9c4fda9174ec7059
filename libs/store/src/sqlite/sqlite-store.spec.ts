import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AgentEvent } from '@drover/contracts';
import type { NewCommit } from '../agent-streams.port';
import { storeContract } from '../testing/store-contract';
import { openSqliteStore } from './sqlite-store';

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
  after(async () => {
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

  it("sees the other connection's writes", async () => {
    assert.equal((await first.streams.append(commit('c1', 1))).status, 'appended');
    assert.deepEqual(
      (await second.streams.load('shared-agent')).map((c) => c.commandId),
      ['c1'],
    );
    await second.documents.collection('things').insert({ _id: 't1', n: 1 });
    assert.deepEqual(await first.documents.collection('things').get('t1'), { _id: 't1', n: 1 });
    const lease = await second.locks.acquire('k', 'two', 10_000);
    assert.ok(lease);
    assert.equal(await first.locks.acquire('k', 'one', 10_000), undefined);
  });

  it('lets exactly one of two concurrent appends of the same version win', async () => {
    const results = await Promise.all([
      first.streams.append(commit('c2-first', 2)),
      second.streams.append(commit('c2-second', 2)),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['appended', 'conflict']);
    assert.equal((await first.streams.load('shared-agent')).length, 2);
  });
});
