import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Filter } from '@drover/contracts';
import { reportMissing } from '@drover/testing';
import { MongoClient, type Db, type Document } from 'mongodb';
import { DOCUMENT_COLLECTION_PREFIX } from './mongo-documents';
import { toMongoFilter } from './mongo-translate';

/**
 * The server's plan (`explain`) for the `_id` lookups the read side runs on every event, command
 * and heartbeat, as the adapter sends them, on a populated collection. On MongoDB 7 no plan may
 * scan the collection. On FerretDB 1.24 (the CI server) only a find by a plain `_id` equality is
 * pushed down; an update's filter never is, nor a find's `_id` with another condition, and those
 * scan there (ARCHITECTURE.md, "MongoDB 7 vs FerretDB 1.24"). The other read-side
 * queries are checked against their declared indexes by the read-side plan test
 * (`services/standalone/test/read-side-plans.spec.ts`): FerretDB scans for them whatever the indexes.
 */
const url = process.env.MONGO_URL;

const byId: Filter = { field: '_id', op: 'eq', value: 'agent-01234' };
/** `replaceIfNewer`: the view's and the heartbeat record's conditional write. */
const olderThan: Filter = { and: [byId, { field: 'version', op: 'lt', value: 9 }] };

if (url === undefined || url === '') {
  describe('mongodb plans', () => reportMissing('MONGO_URL is not set: the MongoDB plans were not checked'));
} else {
  describe('mongodb plans of the read side’s _id lookups', () => {
    const dbName = `drover_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const collection = `${DOCUMENT_COLLECTION_PREFIX}agents`;
    let client: MongoClient;
    let db: Db;
    let ferretdb: boolean;

    beforeAll(async () => {
      client = new MongoClient(url);
      await client.connect();
      db = client.db(dbName);
      const docs = Array.from({ length: 2_000 }, (_, i) => ({
        _id: `agent-${String(i).padStart(5, '0')}`,
        status: 'running',
        version: 3,
      }));
      await db.collection<{ _id: string }>(collection).insertMany(docs);
      const info = await db.command({ buildInfo: 1 });
      ferretdb = typeof info.ferretdbVersion === 'string';
    });
    afterAll(async () => {
      await db.dropDatabase();
      await client.close();
    });

    const explainFind = (query: Document) => db.collection(collection).find(query).explain();
    const explainUpdate = (query: Document) =>
      db.command({ explain: { update: collection, updates: [{ q: query, u: { $set: { seen: true } } }] } });
    /** On MongoDB 7: whether any stage of the winning plan scans the collection. */
    const collectionScan = (explained: Document) =>
      JSON.stringify((explained.queryPlanner as Document | undefined)?.winningPlan).includes('COLLSCAN');

    it('finds by _id through the _id index', async () => {
      const query = toMongoFilter(byId);
      expect(query).toEqual({ _id: 'agent-01234' });
      const explained = await explainFind(query);
      if (ferretdb) expect(explained.filterPushdown).toBe(true);
      else expect(collectionScan(explained)).toBe(false);
    });

    it('updates by _id, alone or with an older version, through the _id index on MongoDB 7; FerretDB scans', async () => {
      const explained = [
        await explainUpdate(toMongoFilter(byId)),
        await explainUpdate(toMongoFilter(olderThan)),
        await explainFind(toMongoFilter(olderThan)),
      ];
      for (const plan of explained) {
        // Pinned so that a FerretDB that learns to push these down shows up here (and in the docs).
        if (ferretdb) expect(plan.filterPushdown).toBe(false);
        else expect(collectionScan(plan)).toBe(false);
      }
    });
  });
}
