import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Collections, feedKey, READ_SIDE_INDEXES, type ActivityView, type Page } from '@drover/contracts';
import { silentLogger, type Clock } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { ReadQueries } from '../answer-queries/read-queries';
import { ReadSidePruner, type PrunerOptions } from './read-side-pruner';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const clock: Clock = { now: () => NOW };
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** `minutes` before NOW, as the services write times. */
const ago = (minutes: number) => new Date(NOW.getTime() - minutes * MINUTE).toISOString();

const unlimited = { maxAgeMs: null, maxPerAgent: null };
const options = (overrides: Partial<PrunerOptions>): PrunerOptions => ({
  activities: unlimited,
  commands: unlimited,
  sweepIntervalMs: 60_000,
  batchSize: 100,
  batchesPerSweep: 1_000,
  ...overrides,
});

describe('read-side retention', () => {
  let store: Store;

  beforeEach(async () => {
    store = openSqliteStore({ filename: ':memory:' });
    for (const index of READ_SIDE_INDEXES) {
      await store.documents.collection(index.collection).ensureIndex(index.fields, { unique: index.unique ?? false });
    }
  });
  afterEach(async () => {
    await store.close();
  });

  const activities = () => store.documents.collection(Collections.activities);
  const commands = () => store.documents.collection(Collections.commands);

  /** An agent view and one activity and one command `minutes` ago for each entry of `minutes`. */
  async function seed(agentId: string, minutes: number[]): Promise<void> {
    await store.documents.collection(Collections.agents).upsert({ _id: agentId, agentId, status: 'running' });
    for (const [i, age] of minutes.entries()) {
      const at = ago(age);
      await activities().insert({
        _id: `${at}|${agentId}-m${i}`,
        id: `${at}|${agentId}-m${i}`,
        agentId,
        kind: 'k',
        ok: true,
        at,
      });
      await commands().insert({
        _id: `${agentId}-c${i}`,
        commandId: `${agentId}-c${i}`,
        agentId,
        state: 'accepted',
        receivedAt: at,
      });
    }
  }

  /** The minutes-ago of what is left of an agent's log, newest first. */
  async function left(agentId: string, log = activities(), time = 'at'): Promise<number[]> {
    const docs = await log.find(
      { field: 'agentId', op: 'eq', value: agentId },
      { sort: [{ field: time, direction: 'desc' }] },
    );
    return docs.map((doc) => (NOW.getTime() - Date.parse(String(doc[time]))) / MINUTE);
  }

  const pruner = (overrides: Partial<PrunerOptions>) =>
    new ReadSidePruner({ store, clock, logger: silentLogger() }, options(overrides));

  it('deletes feed entries older than maxAgeMs but never the newest, whose position the next one follows', async () => {
    const feed = store.documents.collection(Collections.feed);
    const entry = (position: number, minutes: number) =>
      feed.insert({
        _id: feedKey(position),
        position,
        sourceId: `m-${position}`,
        kind: 'event',
        type: 'agent.started',
        agentId: 'a',
        occurredAt: ago(minutes),
        data: {},
      });
    for (const [position, minutes] of [
      [1, 300],
      [2, 200],
      [3, 90],
    ] as const)
      await entry(position, minutes);
    const first = await pruner({ feed: { maxAgeMs: 100 * MINUTE, maxPerAgent: null } }).sweep();
    expect(first.deleted.feed).toBe(2);
    expect((await feed.find()).map((doc) => doc._id)).toEqual([feedKey(3)]);
    // Expired too, but the newest: kept.
    const second = await pruner({ feed: { maxAgeMs: MINUTE, maxPerAgent: null } }).sweep();
    expect(second.deleted.feed).toBe(0);
    expect((await feed.find()).map((doc) => doc._id)).toEqual([feedKey(3)]);
  });

  it('deletes activities and commands older than their maxAgeMs, and nothing younger', async () => {
    await seed('a', [1, 59, 61, 3 * 24 * 60]);
    await seed('b', [2, 120]);
    const report = await pruner({
      activities: { maxAgeMs: 60 * MINUTE, maxPerAgent: null },
      commands: { maxAgeMs: DAY, maxPerAgent: null },
    }).sweep();
    expect(report).toEqual({ deleted: { activities: 3, commands: 1, deadLetters: 0, feed: 0 }, finished: true });
    expect(await left('a')).toEqual([1, 59]);
    expect(await left('b')).toEqual([2]);
    expect(await left('a', commands(), 'receivedAt')).toEqual([1, 59, 61]);
    expect(await left('b', commands(), 'receivedAt')).toEqual([2, 120]);
  });

  it("keeps each agent's newest maxPerAgent entries of each log", async () => {
    await seed('a', [5, 1, 4, 2, 3]);
    await seed('b', [9, 8]);
    await seed('c', []);
    const report = await pruner({
      activities: { maxAgeMs: null, maxPerAgent: 3 },
      commands: { maxAgeMs: null, maxPerAgent: 1 },
    }).sweep();
    expect(report).toEqual({ deleted: { activities: 2, commands: 5, deadLetters: 0, feed: 0 }, finished: true });
    expect(await left('a')).toEqual([1, 2, 3]);
    expect(await left('b')).toEqual([8, 9]);
    expect(await left('a', commands(), 'receivedAt')).toEqual([1]);
    expect(await left('b', commands(), 'receivedAt')).toEqual([8]);
  });

  it('bounds entries of an agent with no view by age only', async () => {
    await seed('ghost', [1, 2, 3, 90]);
    await store.documents.collection(Collections.agents).delete({ field: '_id', op: 'eq', value: 'ghost' });
    await pruner({ activities: { maxAgeMs: 60 * MINUTE, maxPerAgent: 1 } }).sweep();
    expect(await left('ghost')).toEqual([1, 2, 3]);
  });

  it('leaves a log alone when both of its limits are null', async () => {
    await seed('a', [1, 2, 3 * DAY]);
    const report = await pruner({ commands: { maxAgeMs: 60 * MINUTE, maxPerAgent: 1 } }).sweep();
    expect(report.deleted.activities).toBe(0);
    expect(await left('a')).toHaveLength(3);
  });

  it('works a backlog off in batches, within each sweep’s budget, resuming where it stopped', async () => {
    // 3 agents of 7 activities; keep 2 each: 15 to delete, 2 per batch, 4 batches per sweep.
    for (const agentId of ['a', 'b', 'c']) await seed(agentId, [1, 2, 3, 4, 5, 6, 7]);
    const sweeper = pruner({ activities: { maxAgeMs: null, maxPerAgent: 2 }, batchSize: 2, batchesPerSweep: 4 });
    const reports = [];
    for (let sweep = 0; sweep < 10; sweep += 1) {
      const report = await sweeper.sweep();
      reports.push(report);
      if (report.finished) break;
    }
    // No sweep deleted more than its budget allows, and the last one finished the work.
    for (const report of reports) expect(report.deleted.activities).toBeLessThanOrEqual(4 * 2);
    expect(reports.at(-1)?.finished).toBe(true);
    expect(reports.length).toBeGreaterThan(1);
    expect(reports.reduce((sum, report) => sum + report.deleted.activities, 0)).toBe(15);
    for (const agentId of ['a', 'b', 'c']) expect(await left(agentId)).toEqual([1, 2]);
  });

  it('deletes exactly what one would when several pruners sweep at once', async () => {
    for (const agentId of ['a', 'b']) await seed(agentId, [1, 2, 3, 4, 5, 6, 70, 80, 90]);
    const limits = { activities: { maxAgeMs: 60 * MINUTE, maxPerAgent: 4 }, batchSize: 1 };
    const reports = await Promise.all([pruner(limits).sweep(), pruner(limits).sweep(), pruner(limits).sweep()]);
    expect(reports.reduce((sum, report) => sum + report.deleted.activities, 0)).toBe(2 * 5);
    expect(await left('a')).toEqual([1, 2, 3, 4]);
    expect(await left('b')).toEqual([1, 2, 3, 4]);
  });

  it('keeps activity pages exact when pruning runs between two page reads', async () => {
    await seed('a', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await seed('b', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const queries = new ReadQueries(store);
    const page = async (agentId: string, cursor: string | null) => {
      const reply = await queries.answer({ query: 'activity.list', agentId, limit: 3, ...(cursor ? { cursor } : {}) });
      if (!reply.ok) throw new Error(reply.error.message);
      const result = reply.result as Page<ActivityView>;
      return {
        ages: result.items.map((item) => (NOW.getTime() - Date.parse(item.at)) / MINUTE),
        next: result.nextCursor,
      };
    };
    const firstOfA = await page('a', null);
    const firstOfB = await page('b', null);
    expect(firstOfA.ages).toEqual([1, 2, 3]);
    expect(firstOfB.ages).toEqual([1, 2, 3]);
    // Entries 7 to 10 minutes old go while the reader holds its cursor: the next page goes on
    // after the last item it read, and ends where the log now ends.
    await pruner({ activities: { maxAgeMs: 6.5 * MINUTE, maxPerAgent: null } }).sweep();
    expect(await page('a', firstOfA.next)).toEqual({ ages: [4, 5, 6], next: null });
    // The cursor's own entry (3 minutes old) goes too: the page after it is empty, not a repeat.
    await pruner({ activities: { maxAgeMs: null, maxPerAgent: 2 } }).sweep();
    expect(await page('b', firstOfB.next)).toEqual({ ages: [], next: null });
    expect((await page('b', null)).ages).toEqual([1, 2]);
  });

  it('sweeps every sweepIntervalMs once started, and not after stop', async () => {
    await seed('a', [1, 90]);
    const running = pruner({ activities: { maxAgeMs: 60 * MINUTE, maxPerAgent: null }, sweepIntervalMs: 10 });
    running.start();
    try {
      for (let tries = 0; (await left('a')).length > 1; tries += 1) {
        if (tries > 500) throw new Error('no sweep ran');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await running.stop();
    }
    expect(await left('a')).toEqual([1]);
    await seed('b', [90]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await left('b')).toEqual([90]);
  });
});
