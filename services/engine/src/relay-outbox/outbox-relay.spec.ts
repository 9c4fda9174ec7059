import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { AgentCommand, Exchanges } from '@drover/contracts';
import { DEFAULT_RECOVERY_POLICY } from '@drover/domain';
import { DROVER_TOPOLOGY, type Bus, type Delivery } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger, type Clock } from '@drover/runtime';
import { type Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { LeaseLostError } from '../infrastructure/agent-lock';
import { ProcessMessageHandler } from '../process-message/process-message.handler';
import { OutboxSweeper } from './outbox-relay';

/** A bus whose next publish to `exchange` fails, as if the process died right after its commit. */
function failingOnce(inner: Bus, exchange: string): Bus & { failures: number } {
  let armed = true;
  const bus: Bus & { failures: number } = {
    failures: 0,
    publish: async (ex, key, body, options) => {
      if (armed && ex === exchange) {
        armed = false;
        bus.failures += 1;
        throw new Error('connection lost before the publish was confirmed');
      }
      return inner.publish(ex, key, body, options);
    },
    subscribe: (queue, handler, options) => inner.subscribe(queue, handler, options),
    request: (ex, key, body, options) => inner.request(ex, key, body, options),
    declareQueue: (spec) => inner.declareQueue(spec),
    deleteQueue: (name) => inner.deleteQueue(name),
    queueStats: (name) => inner.queueStats(name),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return bus;
}

const START = AgentCommand.parse({
  messageId: 'cmd-crash-1',
  type: 'agent.start',
  agentId: 'crash',
  payload: { behavior: 'http-monitor', config: { url: 'http://127.0.0.1:1/', intervalMs: 1000 } },
});

describe('outbox relay after a crash between commit and publish', () => {
  let inner: InMemoryBus;
  let store: Store;
  let dispatched: Delivery[];
  let now: Date;
  const clock: Clock = { now: () => now };

  beforeEach(async () => {
    now = new Date('2026-01-01T00:00:00.000Z');
    inner = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] });
    store = openSqliteStore({ filename: ':memory:' });
    dispatched = [];
    await inner.declareQueue({
      name: 'test.dispatch',
      bindings: [{ exchange: Exchanges.dispatch, pattern: 'pending' }],
    });
    await inner.subscribe('test.dispatch', async (delivery) => void dispatched.push(delivery));
  });
  afterEach(async () => {
    await inner.close();
    await store.close();
  });

  const handlerOn = (bus: Bus) =>
    new ProcessMessageHandler({
      store,
      bus,
      clock,
      logger: silentLogger(),
      policy: DEFAULT_RECOVERY_POLICY,
      lock: { owner: 'engine-test', ttlMs: 10_000, waitMs: 1_000, pollMs: 5 },
    });
  const sweeperOn = (bus: Bus) =>
    new OutboxSweeper(
      { bus, outbox: store.outbox, logger: silentLogger(), now: () => clock.now() },
      { intervalMs: 60_000, graceMs: 2_000, batch: 10 },
    );
  /** Lets the in-memory bus deliver what was published (it dispatches on setImmediate). */
  const drain = () => new Promise((resolve) => setTimeout(resolve, 20));

  it('leaves the commit pending when the publish fails, and the sweeper relays it exactly once', async () => {
    const bus = failingOnce(inner, Exchanges.dispatch);
    const handler = handlerOn(bus);

    // The commit is written, then the relay's publish fails: the message is not answered.
    await expect(handler.handle(START)).rejects.toThrow(/connection lost/);
    expect(bus.failures).toBe(1);
    const [commit] = await store.streams.load('crash');
    assert.ok(commit, 'the start was committed before the publish failed');
    expect(commit.dispatchedAt).toBeUndefined();
    expect((await store.outbox.pending(10)).map((c) => [c.agentId, c.version])).toEqual([['crash', 1]]);

    // The redelivered command finds its commit: answered as a duplicate, nothing relayed again.
    const again = await handler.handle(START);
    expect(again.ok && again.outcome).toBe('duplicate');
    await drain();
    expect(dispatched).toEqual([]);

    // Within the grace period the sweeper leaves a fresh commit to the engine's own relay.
    const sweeper = sweeperOn(bus);
    now = new Date(now.getTime() + 1_000);
    expect(await sweeper.sweep()).toBe(0);

    // Past it, the commit is relayed and marked dispatched; a second pass finds nothing.
    now = new Date(now.getTime() + 2_000);
    expect(await sweeper.sweep()).toBe(1);
    expect(await sweeper.sweep()).toBe(0);
    await drain();
    expect(dispatched.map((d) => [d.routingKey, (d.body as { type: string; agentId: string }).type])).toEqual([
      ['pending', 'session.start'],
    ]);
    expect(dispatched[0]?.messageId).toBe(commit.outbox.find((m) => m.exchange === Exchanges.dispatch)?.messageId);
    expect(await store.outbox.pending(10)).toEqual([]);
    expect((await store.streams.load('crash'))[0]?.dispatchedAt).toBe(now.toISOString());
  });

  it('relays everything a crash left behind when an engine starts (a sweep without grace)', async () => {
    await expect(handlerOn(failingOnce(inner, Exchanges.dispatch)).handle(START)).rejects.toThrow();
    // A new engine process, a moment later: its first sweep ignores the grace period.
    now = new Date(now.getTime() + 1);
    expect(await sweeperOn(inner).sweep(0)).toBe(1);
    await drain();
    expect(dispatched.map((d) => (d.body as { agentId: string }).agentId)).toEqual(['crash']);
  });

  it('keeps a commit pending while publishing still fails, and relays it on a later pass', async () => {
    await expect(handlerOn(failingOnce(inner, Exchanges.dispatch)).handle(START)).rejects.toThrow();
    const sweeper = sweeperOn(failingOnce(inner, Exchanges.dispatch));
    now = new Date(now.getTime() + 5_000);
    expect(await sweeper.sweep()).toBe(0); // the failure is logged, the commit stays pending
    expect((await store.outbox.pending(10)).length).toBe(1);
    expect(await sweeper.sweep()).toBe(1);
    await drain();
    expect(dispatched.length).toBe(1);
  });

  it('has the next holder of the agent relay a commit left behind before its own', async () => {
    await expect(handlerOn(failingOnce(inner, Exchanges.dispatch)).handle(START)).rejects.toThrow();
    const published: string[] = [];
    const recording: Bus = {
      ...bound(inner),
      publish: async (ex, key, body, options) => {
        published.push(options?.messageId ?? '');
        return inner.publish(ex, key, body, options);
      },
    };
    const stop = AgentCommand.parse({ messageId: 'cmd-crash-2', type: 'agent.stop', agentId: 'crash', payload: {} });
    const reply = await handlerOn(recording).handle(stop);
    expect(reply.ok && reply.outcome).toBe('accepted');
    const [first, second] = await store.streams.load('crash');
    assert.ok(first && second);
    const ids = (commit: { outbox: { messageId: string }[] }) => commit.outbox.map((m) => m.messageId).sort();
    // Version 1's messages all leave before any of version 2's (within a commit, in any order).
    expect(published.slice(0, first.outbox.length).sort()).toEqual(ids(first));
    expect(published.slice(first.outbox.length).sort()).toEqual(ids(second));
    expect(await store.outbox.pending(10)).toEqual([]);
  });

  it('neither answers nor relays an append the store refused as fenced', async () => {
    const fencing: Store = {
      ...store,
      streams: { ...boundStreams(store), append: async () => ({ status: 'fenced' }) },
    };
    const published: string[] = [];
    const handler = new ProcessMessageHandler({
      store: fencing,
      bus: { ...bound(inner), publish: async (_ex, key) => void published.push(key) },
      clock,
      logger: silentLogger(),
      policy: DEFAULT_RECOVERY_POLICY,
      lock: { owner: 'engine-stale', ttlMs: 10_000, waitMs: 1_000, pollMs: 5 },
    });
    await expect(handler.handle(START)).rejects.toThrow(LeaseLostError);
    expect(published).toEqual([]);
  });
});

/** A bus's methods as plain functions, so a test can replace one of them. */
function bound(bus: Bus): Bus {
  return {
    publish: (ex, key, body, options) => bus.publish(ex, key, body, options),
    subscribe: (queue, handler, options) => bus.subscribe(queue, handler, options),
    request: (ex, key, body, options) => bus.request(ex, key, body, options),
    declareQueue: (spec) => bus.declareQueue(spec),
    deleteQueue: (name) => bus.deleteQueue(name),
    queueStats: (name) => bus.queueStats(name),
    ping: () => bus.ping(),
    close: () => bus.close(),
  };
}

function boundStreams(store: Store): Store['streams'] {
  return {
    load: (agentId, from) => store.streams.load(agentId, from),
    loadHead: (agentId) => store.streams.loadHead(agentId),
    append: (commit, fence, snapshot) => store.streams.append(commit, fence, snapshot),
    findByCommandId: (id) => store.streams.findByCommandId(id),
  };
}
