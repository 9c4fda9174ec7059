import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { reportMissing } from '@drover/testing';
import { MongoClient } from 'mongodb';
import type { NewCommit } from '../agent-streams.port';
import { DuplicateKeyError } from '../documents.port';
import type { Store } from '../store.port';
import { storeContract } from '../testing/store-contract';
import { openMongoStore } from './mongo-store';

/**
 * Runs the store contract against a real MongoDB server named by MONGO_URL
 * (e.g. MONGO_URL=mongodb://localhost:27017), each run in a fresh database dropped afterwards.
 */
const url = process.env.MONGO_URL;

function freshDbName(): string {
  return `drover_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

async function dropDatabase(mongoUrl: string, dbName: string): Promise<void> {
  const client = new MongoClient(mongoUrl);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

if (url === undefined || url === '') {
  describe('mongodb store', () => reportMissing('MONGO_URL is not set: the MongoDB store contract did not run'));
} else {
  const mongoUrl = url;
  const contractDb = freshDbName();
  storeContract(
    'mongodb',
    () => openMongoStore(mongoUrl, { dbName: contractDb }),
    async (store) => {
      await store.close();
      await dropDatabase(mongoUrl, contractDb);
    },
  );

  describe('mongodb store under concurrency', () => {
    const dbName = freshDbName();
    let first: Store;
    let second: Store;
    beforeAll(async () => {
      first = await openMongoStore(mongoUrl, { dbName });
      second = await openMongoStore(mongoUrl, { dbName });
    });
    afterAll(async () => {
      await first.close();
      await second.close();
      await dropDatabase(mongoUrl, dbName);
    });

    const commit = (agentId: string, commandId: string, version: number): NewCommit => ({
      agentId,
      version,
      commandId,
      events: [{ type: 'agent.stopped', data: {} }],
      outbox: [],
      committedAt: new Date().toISOString(),
    });

    const fenceOf = async (agentId: string) => {
      const lease = await first.locks.acquire(`agent:${agentId}`, 'test', 60_000);
      assert.ok(lease);
      return lease;
    };

    it('lets exactly one of concurrent appends of the same version win', async () => {
      const agentId = `agent-${randomUUID()}`;
      const fence = await fenceOf(agentId);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? first : second).streams.append(commit(agentId, `cmd-${randomUUID()}`, 1), fence),
        ),
      );
      expect(results.filter((r) => r.status === 'appended').length).toBe(1);
      expect(results.filter((r) => r.status === 'conflict').length).toBe(7);
      expect((await first.streams.load(agentId)).length).toBe(1);
    });

    it('commits a command once when it is appended concurrently', async () => {
      const commandId = `cmd-${randomUUID()}`;
      const agentId = `agent-${randomUUID()}`;
      const fence = await fenceOf(agentId);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 ? first : second).streams.append(commit(agentId, commandId, 1), fence),
        ),
      );
      expect(results.filter((r) => r.status === 'appended').length).toBe(1);
      for (const result of results) expect(result.status).not.toBe('conflict');
      expect((await second.streams.load(agentId)).length).toBe(1);
    });

    it('grants a free key to exactly one of concurrent acquirers', async () => {
      const key = `lock-${randomUUID()}`;
      const leases = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? first : second).locks.acquire(key, `owner-${i}`, 10_000)),
      );
      const granted = leases.filter((lease) => lease !== undefined);
      expect(granted.length).toBe(1);
      expect(granted[0]?.token).toBe(1);
    });

    it('keeps unique indexes over documents lacking the field (a partial index)', async () => {
      const things = first.documents.collection(`c_${randomUUID().replace(/-/g, '')}`);
      await things.ensureIndex(['code'], { unique: true });
      await things.insert({ _id: 'a' });
      await things.insert({ _id: 'b' });
      await things.insert({ _id: 'c', code: 'x' });
      await assert.rejects(things.insert({ _id: 'd', code: 'x' }), DuplicateKeyError);
      await assert.rejects(
        things.update({ field: '_id', op: 'eq', value: 'a' }, { set: { code: 'x' } }),
        DuplicateKeyError,
      );
      expect(await things.get('a')).toEqual({ _id: 'a' });
    });

    it('indexes an explicit null in a unique index, so two nulls collide', async () => {
      const things = first.documents.collection(`c_${randomUUID().replace(/-/g, '')}`);
      await things.ensureIndex(['code'], { unique: true });
      await things.insert({ _id: 'a', code: null });
      await assert.rejects(things.insert({ _id: 'b', code: null }), DuplicateKeyError);
      await things.insert({ _id: 'c' });
      await assert.rejects(things.upsert({ _id: 'c', code: null }), DuplicateKeyError);
    });

    it('keeps a stream document small: a snapshot drops the relayed commits it covers', async () => {
      const agentId = `agent-${randomUUID()}`;
      const fence = await fenceOf(agentId);
      for (let version = 1; version <= 200; version += 1) {
        const snapshot =
          version % 50 === 1 && version > 1
            ? { version: version - 1, state: { folded: version - 1 }, takenAt: new Date().toISOString() }
            : undefined;
        const result = await first.streams.append(
          commit(agentId, `cmd-${agentId}-${version}`, version),
          fence,
          snapshot,
        );
        expect(result.status).toBe('appended');
        await first.outbox.markDispatched(agentId, version, new Date().toISOString());
      }
      // The last snapshot, at 150, covers 1..150: the document keeps 151..200 only.
      const kept = (await first.streams.load(agentId)).map((c) => c.version);
      expect(kept).toEqual(Array.from({ length: 50 }, (_, i) => 151 + i));
      expect((await first.streams.loadHead(agentId)).snapshot?.version).toBe(150);
      // Every dropped command is still known.
      expect(await second.streams.findByCommandId(`cmd-${agentId}-1`)).toEqual({
        agentId,
        version: 1,
        commandId: `cmd-${agentId}-1`,
      });
    });

    // FerretDB 1.24 drops the connection when one createIndexes names two existing indexes.
    it('reopens a store on a database that already has its indexes', async () => {
      const third = await openMongoStore(mongoUrl, { dbName });
      try {
        await third.ping();
        const agentId = `agent-${randomUUID()}`;
        const fence = await fenceOf(agentId);
        expect((await third.streams.append(commit(agentId, `cmd-${randomUUID()}`, 1), fence)).status).toBe('appended');
      } finally {
        await third.close();
      }
    });
  });
}
