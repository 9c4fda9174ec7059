import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Collections, READ_SIDE_INDEXES } from '@drover/contracts';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { FeedWriter, type UnplacedEntry } from './feed-writer';

const entry = (sourceId: string): UnplacedEntry => ({
  sourceId,
  kind: 'activity',
  type: 'http.check',
  agentId: 'a-1',
  occurredAt: new Date().toISOString(),
  data: { ok: true },
});

/**
 * The feed's positions are what `Last-Event-ID` resumes from: they must be dense and each entry
 * placed once, however many persistence-agent processes append at the same time.
 */
describe('the live feed writer', () => {
  let store: Store;
  let bus: InMemoryBus;

  beforeEach(async () => {
    store = openSqliteStore({ filename: ':memory:' });
    for (const index of READ_SIDE_INDEXES.filter((i) => i.collection === Collections.feed)) {
      await store.documents.collection(index.collection).ensureIndex(index.fields, { unique: index.unique ?? false });
    }
    bus = new InMemoryBus(DROVER_TOPOLOGY);
  });
  afterEach(async () => {
    await bus.close();
    await store.close();
  });

  it('gives two processes appending at once dense positions, each entry once', async () => {
    // Two writers stand for two persistence-agent processes: each remembers its own next position.
    const writers = [new FeedWriter(store, bus, silentLogger()), new FeedWriter(store, bus, silentLogger())];
    const placed = await Promise.all(Array.from({ length: 60 }, (_, i) => writers[i % 2]!.append(entry(`s-${i}`))));
    const positions = placed.map((e) => Number(e.id)).sort((a, b) => a - b);
    expect(positions).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(await store.documents.collection(Collections.feed).count()).toBe(60);
  });

  it('places a redelivered event or activity nowhere new: it keeps its first position', async () => {
    const writer = new FeedWriter(store, bus, silentLogger());
    const first = await writer.append(entry('s-1'));
    await writer.append(entry('s-2'));
    // Another process that never saw s-1 gets it again (a redelivery).
    const again = await new FeedWriter(store, bus, silentLogger()).append(entry('s-1'));
    expect(again.id).toBe(first.id);
    const next = await writer.append(entry('s-3'));
    expect(next.id).toBe('3');
    expect(await store.documents.collection(Collections.feed).count()).toBe(3);
  });
});
