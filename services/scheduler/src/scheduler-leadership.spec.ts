import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { Collections } from '@drover/contracts';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger, systemClock } from '@drover/runtime';
import { type Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { LEADER_LEASE_KEY, Scheduler } from './scheduler';

/** Leases lapse on the store's wall clock, so the test's is short. */
const LEADER_TTL_MS = 300;

describe('scheduler leadership between two replicas', () => {
  let bus: InMemoryBus;
  let store: Store;
  let schedulers: Scheduler[];

  beforeEach(async () => {
    bus = new InMemoryBus(DROVER_TOPOLOGY);
    store = openSqliteStore({ filename: ':memory:' });
    // Work that is due on every tick: a running agent whose session agent said goodbye.
    await store.documents
      .collection(Collections.agents)
      .insert({ _id: 'a-1', agentId: 'a-1', status: 'running', instanceId: 'sa-1', attempts: 1, version: 3 });
    await store.documents.collection(Collections.sessionAgents).insert({
      _id: 'sa-1',
      capacity: 2,
      agentIds: ['a-1'],
      leaseMs: 10_000,
      alive: false,
      lastSeenAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 10_000).toISOString(),
    });
    const deps = { bus, store, clock: systemClock, logger: silentLogger() };
    // republishMs 0: every tick publishes the due command again, so a tick's output shows who acts.
    const options = { tickMs: 50, startTimeoutMs: 60_000, leaderTtlMs: LEADER_TTL_MS, republishMs: 0 };
    schedulers = [new Scheduler(deps, options), new Scheduler(deps, options)];
  });
  afterEach(async () => {
    for (const scheduler of schedulers) await scheduler.stop();
    await bus.close();
    await store.close();
  });

  /** Ticks `scheduler` until it leads; returns what it published then and its failed attempts. */
  async function tickUntilLeader(scheduler: Scheduler, timeoutMs = 5_000) {
    const deadline = Date.now() + timeoutMs;
    let refused = 0;
    for (;;) {
      const published = await scheduler.tick();
      if (scheduler.isLeader) return { published, refused };
      expect(published).toEqual([]);
      refused += 1;
      if (Date.now() > deadline) throw new Error(`${scheduler.owner} never became leader`);
      await sleep(20);
    }
  }

  it('lets one replica act; the other takes over only once a killed leader’s lease has lapsed', async () => {
    const [first, second] = schedulers as [Scheduler, Scheduler];
    const leaseFrom = Date.now(); // the lease is taken after this, so it lapses after leaseFrom + TTL
    const acted = await first.tick();
    expect(first.isLeader).toBe(true);
    expect(acted.map((c) => [c.type, c.agentId])).toEqual([['agent.interrupt', 'a-1']]);
    expect(await second.tick()).toEqual([]);
    expect(second.isLeader).toBe(false);

    // The leader is killed: it stops ticking and never releases its lease.
    const takeover = await tickUntilLeader(second);
    const waitedMs = Date.now() - leaseFrom;
    console.info(
      `takeover ${waitedMs} ms after the lease was taken (TTL ${LEADER_TTL_MS} ms, ${takeover.refused} refused ticks)`,
    );
    expect(takeover.refused).toBeGreaterThan(0);
    expect(waitedMs).toBeGreaterThanOrEqual(LEADER_TTL_MS); // never before the lease lapsed
    // The new leader publishes the same due work, with the same command ids (idempotent for the engine).
    expect(takeover.published.map((c) => c.messageId)).toEqual(acted.map((c) => c.messageId));
  });

  it('stops a leader that lost its lease from acting, even when it wakes up and ticks again', async () => {
    const [first, second] = schedulers as [Scheduler, Scheduler];
    expect((await first.tick()).length).toBe(1);
    // The leader stalls (a long pause) past its lease; the other replica takes over.
    await tickUntilLeader(second);

    // The stalled leader resumes: its renewal fails, it publishes nothing and says it is no leader.
    expect(await first.tick()).toEqual([]);
    expect(first.isLeader).toBe(false);
    expect((await second.tick()).length).toBe(1);
    expect(second.isLeader).toBe(true);
    // Its lease is the only one: the stalled replica cannot take it back while it is renewed.
    for (let i = 0; i < 3; i += 1) {
      expect(await first.tick()).toEqual([]);
      expect((await second.tick()).length).toBe(1);
    }
    expect(await store.locks.acquire(LEADER_LEASE_KEY, first.owner, LEADER_TTL_MS)).toBeUndefined();
  });

  it('hands over at once when the leader stops cleanly (it releases its lease)', async () => {
    const [first, second] = schedulers as [Scheduler, Scheduler];
    await first.tick();
    await first.stop();
    expect((await second.tick()).length).toBe(1);
    expect(second.isLeader).toBe(true);
  });

  it('sends a due command once, not on every tick, until republishMs passed', async () => {
    const deps = { bus, store, clock: systemClock, logger: silentLogger() };
    const scheduler = new Scheduler(deps, { tickMs: 50, startTimeoutMs: 60_000, republishMs: 200 });
    schedulers.push(scheduler);
    const first = await scheduler.tick();
    expect(first.map((c) => `${c.type} ${c.agentId}`)).toEqual(['agent.interrupt a-1']);
    expect(await scheduler.tick()).toEqual([]);
    await sleep(250);
    expect((await scheduler.tick()).map((c) => c.messageId)).toEqual(first.map((c) => c.messageId));
  });
});
