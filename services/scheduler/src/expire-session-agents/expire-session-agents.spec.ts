import { afterEach, describe, expect, it } from '@jest/globals';
import { Collections, type AgentCommand } from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import { silentLogger } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { Scheduler } from '../scheduler';

/** lease 4 s, heartbeat 500 ms: margin max(1 s, 1 s) = 1 s; expiry after 5 s of silence. */
const LAPSE_MS = 5_000;

describe('the scheduler expires session agents on its own clock, after its own outages', () => {
  let store: Store;
  afterEach(async () => {
    await store.close();
  });

  async function setUp(leaseMs = 4_000) {
    store = openSqliteStore({ filename: ':memory:' });
    await store.documents.collection(Collections.agents).insert({
      _id: 'a-1',
      agentId: 'a-1',
      status: 'running',
      attempts: 1,
      version: 2,
      instanceId: 'sa-1',
      startedAt: new Date().toISOString(),
    });
    const lastSeen = new Date().toISOString();
    await store.documents.collection(Collections.sessionAgents).insert({
      _id: 'sa-1',
      capacity: 4,
      agentIds: ['a-1'],
      leaseMs,
      alive: true,
      lastSeenAt: lastSeen,
      expiresAt: new Date(Date.parse(lastSeen) + leaseMs).toISOString(),
    });
    // Another session agent, alive: its record changes on every tick, so the read side is current.
    await store.documents.collection(Collections.sessionAgents).insert({
      _id: 'sa-2',
      capacity: 4,
      agentIds: [],
      leaseMs: 4_000,
      alive: true,
      lastSeenAt: lastSeen,
      expiresAt: new Date(Date.parse(lastSeen) + 4_000).toISOString(),
    });
    const published: AgentCommand[] = [];
    const broker = { up: true };
    const clock = { at: 0 };
    /** Set `ms` to make the next tick hang that long (as on a store whose server is away). */
    const stall = { ms: 0 };
    /** Whether sa-2's heartbeats keep reaching the store. */
    const liveHostBeats = { on: true };
    const bus = {
      publish: async (_x: string, _k: string, body: AgentCommand) => void published.push(body),
      ping: async () => {
        clock.at += stall.ms;
        stall.ms = 0;
        if (!broker.up) throw new Error('connection closed');
        if (liveHostBeats.on) {
          const lastSeenAt = new Date(Date.parse(lastSeen) + clock.at + 1).toISOString();
          await store.documents
            .collection(Collections.sessionAgents)
            .update({ field: '_id', op: 'eq', value: 'sa-2' }, { set: { lastSeenAt } });
        }
      },
    };
    const scheduler = new Scheduler(
      { bus: bus as unknown as Bus, store, clock: { now: () => new Date() }, logger: silentLogger() },
      { tickMs: 250, startTimeoutMs: 60_000, sessionHeartbeatMs: 500, monotonic: () => clock.at },
    );
    const interrupts = () => published.filter((c) => c.type === 'agent.interrupt').map((c) => c.agentId);
    return { scheduler, broker, clock, stall, interrupts, liveHostBeats };
  }

  it('interrupts only after the lease plus the margin of silence', async () => {
    const { scheduler, clock, interrupts } = await setUp();
    await scheduler.tick();
    clock.at = LAPSE_MS;
    await scheduler.tick();
    expect(interrupts()).toEqual([]);
    clock.at = LAPSE_MS + 1;
    await scheduler.tick();
    expect(interrupts()).toEqual(['a-1']);
    await scheduler.stop();
  });

  it('after it could not reach the bus, waits a full lease plus margin from the reconnection', async () => {
    const { scheduler, broker, clock, interrupts } = await setUp();
    await scheduler.tick();
    broker.up = false; // the broker restarts: no heartbeat can arrive meanwhile
    clock.at = 3_000;
    await scheduler.tick();
    broker.up = true;
    clock.at = 8_000; // reconnected: silent for 8 s by the old sighting, but that proves nothing
    await scheduler.tick();
    clock.at = 8_000 + LAPSE_MS;
    await scheduler.tick();
    expect(interrupts()).toEqual([]);
    clock.at = 8_000 + LAPSE_MS + 1;
    await scheduler.tick();
    expect(interrupts()).toEqual(['a-1']);
    await scheduler.stop();
  });

  it('after a tick that hung (the store away), waits a full lease plus margin from its end', async () => {
    const { scheduler, clock, stall, interrupts } = await setUp();
    await scheduler.tick();
    stall.ms = 10_000; // the tick hangs 10 s and then succeeds: records written meanwhile are missing
    await scheduler.tick();
    expect(interrupts()).toEqual([]);
    clock.at = 10_000 + LAPSE_MS;
    await scheduler.tick();
    expect(interrupts()).toEqual([]);
    clock.at = 10_000 + LAPSE_MS + 1;
    await scheduler.tick();
    expect(interrupts()).toEqual(['a-1']);
    await scheduler.stop();
  });

  it('after its own outage, waits twice the lease plus margin while no record changes (the read side may lag)', async () => {
    const { scheduler, broker, clock, interrupts, liveHostBeats } = await setUp();
    liveHostBeats.on = false; // the persistence agent is still working through its backlog
    await scheduler.tick();
    broker.up = false;
    clock.at = 3_000;
    await scheduler.tick();
    broker.up = true;
    clock.at = 8_000;
    await scheduler.tick();
    clock.at = 8_000 + 2 * LAPSE_MS;
    await scheduler.tick();
    expect(interrupts()).toEqual([]);
    clock.at = 8_000 + 2 * LAPSE_MS + 1;
    await scheduler.tick();
    expect(interrupts()).toEqual(['a-1']);
    await scheduler.stop();
  });

  it('keeps the watch of a host whose margin a slow tick did not use up', async () => {
    // lease 40 s: margin 10 s, expiry after 50 s of silence. A 5 s tick leaves the margin intact.
    const { scheduler, clock, stall, interrupts } = await setUp(40_000);
    await scheduler.tick();
    clock.at = 40_000;
    stall.ms = 5_000;
    await scheduler.tick();
    clock.at = 50_001;
    await scheduler.tick();
    expect(interrupts()).toEqual(['a-1']);
    await scheduler.stop();
  });

  it('restarts the watch of a host whose margin a hung tick used up', async () => {
    const { scheduler, clock, stall, interrupts } = await setUp(40_000);
    await scheduler.tick();
    clock.at = 30_000;
    stall.ms = 11_000; // longer than the 10 s margin: the tick ends at 41 s
    await scheduler.tick();
    clock.at = 41_000 + 50_000;
    await scheduler.tick();
    expect(interrupts()).toEqual([]);
    clock.at = 41_000 + 50_001;
    await scheduler.tick();
    expect(interrupts()).toEqual(['a-1']);
    await scheduler.stop();
  });
});
