import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { Collections, Exchanges, RoutingKeys } from '@drover/contracts';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger, systemClock } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { PersistenceAgent } from '../persistence-agent';

/** Whatever the wrapped object has, with its methods bound to it. */
function bound<T extends object>(target: T, prop: string | symbol): unknown {
  const value = Reflect.get(target, prop) as unknown;
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

/** The store, with every insert into the activities collection held until `open` is called. */
function withHeldActivities(store: Store): { store: Store; open: () => void; held: () => number } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let held = 0;
  const documents = new Proxy(store.documents, {
    get(target, prop) {
      if (prop !== 'collection') return bound(target, prop);
      return (name: string) => {
        const collection = target.collection(name);
        if (name !== Collections.activities) return collection;
        return new Proxy(collection, {
          get(inner, key) {
            if (key !== 'insert') return bound(inner, key);
            return async (...args: Parameters<typeof collection.insert>) => {
              held += 1;
              await gate;
              return collection.insert(...args);
            };
          },
        });
      };
    },
  });
  const wrapped = new Proxy(store, { get: (target, prop) => (prop === 'documents' ? documents : bound(target, prop)) });
  return { store: wrapped, open, held: () => held };
}

/**
 * Heartbeats reach the read side on a queue of their own: however many activities wait for a slow
 * store, a session agent's heartbeat is recorded at once, so the scheduler never takes a live
 * session agent for a dead one because its activities are backed up.
 */
describe('heartbeats and activities', () => {
  let bus: InMemoryBus;
  let store: Store;
  let agent: PersistenceAgent;
  let gate: ReturnType<typeof withHeldActivities>;

  beforeAll(async () => {
    bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] });
    store = openSqliteStore({ filename: ':memory:' });
    gate = withHeldActivities(store);
    agent = new PersistenceAgent({ bus, store: gate.store, clock: systemClock, logger: silentLogger() });
    await agent.start();
  });
  afterAll(async () => {
    gate.open();
    await agent.stop();
    await bus.close();
    await store.close();
  });

  it('records a heartbeat while more activities than the prefetch wait for the store', async () => {
    const activities = 40;
    for (let n = 0; n < activities; n++) {
      await bus.publish(
        Exchanges.reports,
        'session.activity',
        {
          messageId: `act-${n}`,
          type: 'session.activity',
          agentId: `busy-${n % 4}`,
          instanceId: 'sa-busy',
          attempt: 1,
          payload: { kind: 'http.check', ok: true },
          occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
        },
        { messageId: `act-${n}` },
      );
    }
    const occurredAt = new Date().toISOString();
    await bus.publish(
      Exchanges.reports,
      RoutingKeys.heartbeat,
      {
        messageId: `hb-${occurredAt}`,
        type: 'session.heartbeat',
        instanceId: 'sa-busy',
        capacity: 8,
        agentIds: ['busy-0', 'busy-1', 'busy-2', 'busy-3'],
        leaseMs: 5_000,
        alive: true,
        occurredAt,
      },
      { messageId: `hb-${occurredAt}` },
    );

    const leases = store.documents.collection(Collections.sessionAgents);
    const deadline = Date.now() + 3_000;
    while (!(await leases.get('sa-busy')) && Date.now() < deadline) await sleep(10);
    expect(await leases.get('sa-busy')).toMatchObject({ lastSeenAt: occurredAt, alive: true });
    // The activities are still held: the heartbeat did not wait for them.
    expect(gate.held()).toBeGreaterThan(0);
    expect(await store.documents.collection(Collections.activities).find()).toHaveLength(0);

    gate.open();
    const recorded = async () => (await store.documents.collection(Collections.activities).find()).length;
    const until = Date.now() + 5_000;
    while ((await recorded()) < activities && Date.now() < until) await sleep(20);
    expect(await recorded()).toBe(activities);
  });
});
