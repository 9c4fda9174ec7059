import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { Collections, ReadQuery, type AgentView, type Page } from '@drover/contracts';
import { reportMissing } from '@drover/testing';
import type { Store } from '@drover/store';
import { openMongoStore } from '@drover/store/mongodb';
import { openSqliteStore } from '@drover/store/sqlite';
import { ReadQueries } from '../src/answer-queries/read-queries';

/** More agents than one batch of the label scan, so its paging across batches is exercised. */
const AGENTS = 1_200;
const id = (n: number) => `agent-${String(n).padStart(5, '0')}`;

/** `GET /api/agents` filters on one store: status, behaviour, and labels (AND), paged in id order. */
function listFilters(name: string, open: () => Promise<Store>, close: (store: Store) => Promise<void>): void {
  describe(`agent list filters on ${name}`, () => {
    let store: Store;
    let queries: ReadQueries;

    beforeAll(async () => {
      store = await open();
      const agents = store.documents.collection(Collections.agents);
      for (let n = 0; n < AGENTS; n += 1) {
        const labels: Record<string, string> = {};
        if (n % 7 === 0) labels['app-kubernetes-io/team'] = 'growth';
        if (n % 2 === 0) labels.tier = 'web';
        await agents.upsert({
          _id: id(n),
          agentId: id(n),
          status: n % 3 === 0 ? 'paused' : 'running',
          behavior: n % 5 === 0 ? 'page-monitor' : 'http-monitor',
          attempts: 1,
          version: 2,
          ...(Object.keys(labels).length ? { labels } : {}),
        });
      }
    });
    afterAll(() => close(store));

    const list = async (query: Record<string, unknown>) => {
      const reply = await queries.answer(ReadQuery.parse({ query: 'agent.list', ...query }));
      if (!reply.ok) throw new Error(reply.error.message);
      return reply.result as Page<AgentView>;
    };
    /** Every page of a query, following the cursor. */
    const all = async (query: Record<string, unknown>) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await list({ ...query, limit: 100, ...(cursor ? { cursor } : {}) });
        ids.push(...page.items.map((a) => a.agentId));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return ids;
    };
    const expected = (keep: (n: number) => boolean) =>
      Array.from({ length: AGENTS }, (_, n) => n)
        .filter(keep)
        .map(id);

    beforeAll(() => {
      queries = new ReadQueries(store);
    });

    it('selects by a label whose key has dashes and a slash, across every batch, in id order', async () => {
      expect(await all({ labels: { 'app-kubernetes-io/team': 'growth' } })).toEqual(expected((n) => n % 7 === 0));
    });
    it('ANDs labels with each other and with status and behaviour', async () => {
      expect(await all({ labels: { 'app-kubernetes-io/team': 'growth', tier: 'web' } })).toEqual(
        expected((n) => n % 14 === 0),
      );
      expect(await all({ labels: { tier: 'web' }, status: 'paused', behavior: 'page-monitor' })).toEqual(
        expected((n) => n % 2 === 0 && n % 3 === 0 && n % 5 === 0),
      );
      expect(await all({ behavior: 'page-monitor', status: 'running' })).toEqual(
        expected((n) => n % 5 === 0 && n % 3 !== 0),
      );
    });
    it('answers an empty page for a value no agent has, and a page of the limit with its cursor', async () => {
      expect(await list({ labels: { tier: 'db' } })).toEqual({ items: [], nextCursor: null });
      const first = await list({ labels: { 'app-kubernetes-io/team': 'growth' }, limit: 3 });
      expect(first.items.map((a) => a.agentId)).toEqual([id(0), id(7), id(14)]);
      expect(first.nextCursor).toBe(id(14));
    });
  });
}

listFilters(
  'SQLite',
  async () => openSqliteStore({ filename: ':memory:' }),
  (store) => store.close(),
);

const mongoUrl = process.env.MONGO_URL;
if (!mongoUrl) {
  describe('agent list filters on MongoDB', () =>
    reportMissing('MONGO_URL is not set: the MongoDB list filters did not run'));
} else {
  const dbName = `drover_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  listFilters(
    'MongoDB',
    () => openMongoStore(mongoUrl, { dbName }),
    async (store) => {
      await store.close();
      const client = new MongoClient(mongoUrl);
      await client.db(dbName).dropDatabase();
      await client.close();
    },
  );
}
