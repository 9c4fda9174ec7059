import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import {
  Collections,
  Exchanges,
  RoutingKeys,
  type ActivityView,
  type Page,
  type PersistenceReply,
} from '@drover/contracts';
import { DROVER_TOPOLOGY, Queues } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger, systemClock, type Clock } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openMongoStore } from '@drover/store/mongodb';
import { openSqliteStore } from '@drover/store/sqlite';
import { eventually } from '@drover/testing';
import { PersistenceAgent } from '../src/persistence-agent';
import { ReadSidePruner, type PrunerOptions } from '../src/prune-read-side/read-side-pruner';

const DAY = 24 * 3_600_000;
const AGENTS = ['mon-1', 'mon-2'];
/** Per agent: activities 10 days old, then recent ones; commands (logged as they arrive). */
const OLD_ACTIVITIES = 30;
const RECENT_ACTIVITIES = 40;
const COMMANDS = 25;

interface StoreUnderTest {
  name: string;
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'drover-retention-'));
const mongoUrl = process.env.MONGO_URL;
const mongoDb = `drover_retention_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const stores: StoreUnderTest[] = [
  {
    name: 'sqlite',
    open: async () => openSqliteStore({ dataDir: dir }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  },
];
if (mongoUrl) {
  stores.push({
    name: 'mongodb',
    open: () => openMongoStore(mongoUrl, { dbName: mongoDb }),
    dispose: async () => {
      const client = await MongoClient.connect(mongoUrl);
      await client.db(mongoDb).dropDatabase();
      await client.close();
    },
  });
}

/**
 * Retention on a read side populated the way production populates it: session activities and
 * commands go through the persistence agent's own consumers, then pruners sweep the store.
 */
describe.each(stores)('read-side retention on $name', (under) => {
  let store: Store;
  let bus: InMemoryBus;
  let agent: PersistenceAgent;
  const now = Date.now();

  beforeAll(async () => {
    store = await under.open();
    bus = new InMemoryBus(DROVER_TOPOLOGY);
    agent = new PersistenceAgent({ bus, store, clock: systemClock, logger: silentLogger() });
    await agent.start();
    for (const agentId of AGENTS) {
      await store.documents
        .collection(Collections.agents)
        .upsert({ _id: agentId, agentId, status: 'running', attempts: 1 });
      const ages = [
        ...Array.from({ length: OLD_ACTIVITIES }, (_, i) => 10 * DAY + i * 60_000),
        ...Array.from({ length: RECENT_ACTIVITIES }, (_, i) => (i + 1) * 1_000),
      ];
      for (const [i, age] of ages.entries()) {
        await bus.publish(Exchanges.reports, 'session.activity', {
          messageId: `${agentId}-a${i}`,
          type: 'session.activity',
          agentId,
          attempt: 1,
          instanceId: 'sa-1',
          payload: { kind: 'http.check', ok: true, details: { status: 200, ms: 3 } },
          occurredAt: new Date(now - age).toISOString(),
        });
      }
      for (let i = 0; i < COMMANDS; i += 1) {
        const command = { messageId: `${agentId}-c${i}`, type: 'agent.stop', agentId, payload: {} };
        await bus.publish(Exchanges.commands, command.type, command, { messageId: command.messageId });
      }
    }
    await eventually(
      'the read side to be populated',
      async () => {
        const queues = [Queues.persistenceReports, Queues.persistenceCommands];
        const stats = await Promise.all(queues.map((queue) => bus.queueStats(queue)));
        return stats.every((stat) => stat.messages === 0) ? true : undefined;
      },
      60_000,
    );
  });
  afterAll(async () => {
    await agent?.stop();
    await bus?.close();
    await store?.close();
    await under.dispose();
  });

  const count = (collection: string, agentId: string) =>
    store.documents.collection(collection).count({ field: 'agentId', op: 'eq', value: agentId });
  const page = async (agentId: string, limit: number, cursor: string | null) => {
    const reply = await bus.request<PersistenceReply<Page<ActivityView>>>(
      Exchanges.persistence,
      RoutingKeys.readQuery,
      { query: 'activity.list', agentId, limit, ...(cursor ? { cursor } : {}) },
      { timeoutMs: 10_000 },
    );
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result;
  };
  const pruner = (clock: Clock, options: Partial<PrunerOptions>) =>
    new ReadSidePruner(
      { store, clock, logger: silentLogger() },
      {
        activities: { maxAgeMs: 7 * DAY, maxPerAgent: 25 },
        commands: { maxAgeMs: 7 * DAY, maxPerAgent: 10 },
        sweepIntervalMs: 60_000,
        batchSize: 7,
        batchesPerSweep: 1_000,
        ...options,
      },
    );

  it('was populated through the consumers', async () => {
    for (const agentId of AGENTS) {
      expect(await count(Collections.activities, agentId)).toBe(OLD_ACTIVITIES + RECENT_ACTIVITIES);
      expect(await count(Collections.commands, agentId)).toBe(COMMANDS);
    }
  });

  it("prunes by age and by count per agent, keeping each agent's newest, while its pages are read", async () => {
    const newest = await page('mon-1', RECENT_ACTIVITIES, null);
    const commands = store.documents.collection(Collections.commands);
    const receivedAt = async () =>
      new Map(
        (await commands.find({ field: 'agentId', op: 'eq', value: 'mon-2' })).map((doc) => [
          doc._id,
          String(doc.receivedAt),
        ]),
      );
    const logged = await receivedAt();
    const first = await page('mon-1', 10, null);
    // Two pruners at once, as two persistence agents would.
    const reports = await Promise.all([pruner(systemClock, {}).sweep(), pruner(systemClock, {}).sweep()]);
    expect(reports.every((report) => report.finished)).toBe(true);
    const deleted = reports.reduce((sum, report) => sum + report.deleted.activities, 0);
    expect(deleted).toBe(AGENTS.length * (OLD_ACTIVITIES + RECENT_ACTIVITIES - 25));
    for (const agentId of AGENTS) {
      expect(await count(Collections.activities, agentId)).toBe(25);
      expect(await count(Collections.commands, agentId)).toBe(10);
    }
    // The reader's next pages go on after its cursor: the newest 25 in order, none repeated or skipped.
    const read = [...first.items];
    for (let cursor = first.nextCursor; cursor;) {
      const next = await page('mon-1', 10, cursor);
      read.push(...next.items);
      cursor = next.nextCursor;
    }
    expect(read.map((item) => item.id)).toEqual(newest.items.slice(0, 25).map((item) => item.id));
    // The command log kept the commands it received last: none it deleted came after one it kept.
    const kept = await receivedAt();
    const gone = [...logged].filter(([id]) => !kept.has(id)).map(([, at]) => at);
    expect(gone).toHaveLength(COMMANDS - 10);
    expect([...kept.values()].sort()[0]! >= gone.sort().at(-1)!).toBe(true);
  });

  it('prunes everything once it is older than maxAgeMs', async () => {
    const inEightDays: Clock = { now: () => new Date(Date.now() + 8 * DAY) };
    const report = await pruner(inEightDays, {}).sweep();
    expect(report).toEqual({ deleted: { activities: 50, commands: 20, deadLetters: 0, feed: 0 }, finished: true });
    for (const agentId of AGENTS) {
      expect(await count(Collections.activities, agentId)).toBe(0);
      expect(await count(Collections.commands, agentId)).toBe(0);
    }
  });
});
