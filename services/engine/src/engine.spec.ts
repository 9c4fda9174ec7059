import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Exchanges, type CommandReply } from '@drover/contracts';
import { DEFAULT_RECOVERY_POLICY } from '@drover/domain';
import { DEATH_REASON_HEADER, DROVER_TOPOLOGY, Queues, type Delivery } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { SecretBox, silentLogger, systemClock } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { Engine } from './engine';
import { AgentLock, type HeldLease } from './infrastructure/agent-lock';

/** Collects every message routed to a test queue bound to the given exchange patterns. */
async function tap(
  bus: InMemoryBus,
  name: string,
  bindings: { exchange: string; pattern: string }[],
): Promise<Delivery[]> {
  const seen: Delivery[] = [];
  await bus.declareQueue({ name, bindings });
  await bus.subscribe(name, async (delivery) => void seen.push(delivery));
  return seen;
}

async function until<T>(check: () => T | undefined, timeoutMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** One end of a critical section: who held the agent's lock, entering or leaving. */
interface Mark {
  agentId: string;
  holder: string;
  at: 'enter' | 'exit';
}

/**
 * Records every critical section the engines run under `AgentLock`: the work is wrapped so it
 * marks its entry and exit with the lease holder. Returns the trace and a restore function.
 */
function traceCriticalSections(): { trace: Mark[]; restore: () => void } {
  const trace: Mark[] = [];
  // Called with the lock instance as `this` below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = AgentLock.prototype.run;
  const spy = jest.spyOn(AgentLock.prototype, 'run').mockImplementation(function <T>(
    this: AgentLock,
    agentId: string,
    work: (held: HeldLease) => Promise<T>,
  ) {
    return original.call(this, agentId, async (held: HeldLease) => {
      trace.push({ agentId, holder: held.lease.owner, at: 'enter' });
      try {
        return await work(held);
      } finally {
        trace.push({ agentId, holder: held.lease.owner, at: 'exit' });
      }
    });
  });
  return { trace, restore: () => spy.mockRestore() };
}

/** The most critical sections of one agent that were open at the same time. */
function maxOverlap(trace: Mark[], agentId: string): number {
  let open = 0;
  let max = 0;
  for (const mark of trace.filter((m) => m.agentId === agentId)) {
    open += mark.at === 'enter' ? 1 : -1;
    max = Math.max(max, open);
  }
  return max;
}

const start = (agentId: string, messageId: string) => ({
  messageId,
  type: 'agent.start',
  agentId,
  payload: { behavior: 'http-monitor', config: { url: 'http://127.0.0.1:1/', intervalMs: 1000 } },
});

describe('engine', () => {
  const secrets = SecretBox.fresh();
  let bus: InMemoryBus;
  let store: Store;
  let engines: Engine[];
  let dispatched: Delivery[];
  let events: Delivery[];
  const deadCommands: Delivery[] = [];

  beforeAll(async () => {
    bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] });
    store = openSqliteStore({ filename: ':memory:' });
    const deps = { bus, store, clock: systemClock, logger: silentLogger(), secrets };
    // Two replicas on one store and bus, as in production.
    engines = [
      new Engine(deps, { policy: DEFAULT_RECOVERY_POLICY }),
      new Engine(deps, { policy: DEFAULT_RECOVERY_POLICY }),
    ];
    dispatched = await tap(bus, 'test.dispatch', [
      { exchange: Exchanges.dispatch, pattern: 'pending' },
      { exchange: Exchanges.dispatch, pattern: 'sa-1' },
    ]);
    events = await tap(bus, 'test.events', [{ exchange: Exchanges.events, pattern: '#' }]);
    await bus.subscribe(`${Queues.engineCommands}.dead`, async (d) => void deadCommands.push(d));
    for (const engine of engines) await engine.start();
  });
  afterAll(async () => {
    for (const engine of engines) await engine.stop();
    await bus.close();
    await store.close();
  });

  const request = (body: Record<string, unknown>) =>
    bus.request<CommandReply>(Exchanges.commands, body.type as string, body, { timeoutMs: 2_000 });

  it('commits a start and only then dispatches the session with attempt 1', async () => {
    const reply = await request(start('a-1', 'cmd-a-1'));
    expect(reply.ok).toBe(true);
    expect(reply.ok && reply.view.status).toBe('starting');
    const commits = await store.streams.load('a-1');
    expect(commits.length).toBe(1);
    assert.ok(commits[0]?.dispatchedAt, 'outbox marked dispatched');
    const dispatch = await until(() => dispatched.find((d) => (d.body as { agentId: string }).agentId === 'a-1'));
    expect((dispatch.body as { type: string }).type).toBe('session.start');
    expect((dispatch.body as { attempt: number }).attempt).toBe(1);
    await until(() =>
      events.find((d) => d.routingKey === 'agent.start-requested' && (d.body as { agentId: string }).agentId === 'a-1'),
    );
  });

  it('answers a redelivered command with the first result and commits once', async () => {
    const again = await request(start('a-1', 'cmd-a-1'));
    expect(again.ok && again.outcome).toBe('duplicate');
    expect((await store.streams.load('a-1')).length).toBe(1);
  });

  it('answers two copies of one command in flight at once as accepted and duplicate, rejecting neither', async () => {
    const replies = await Promise.all([request(start('a-twice', 'cmd-twice')), request(start('a-twice', 'cmd-twice'))]);
    expect(replies.map((reply) => reply.ok && reply.outcome).sort()).toEqual(['accepted', 'duplicate']);
    expect((await store.streams.load('a-twice')).length).toBe(1);
    await sleep(50);
    const outcomes = events.filter((d) => d.routingKey.startsWith('command.'));
    expect(outcomes.some((d) => (d.body as { commandId?: string }).commandId === 'cmd-twice')).toBe(false);
  });

  it('rejects a start while the agent is active and records the rejection', async () => {
    const reply = await request(start('a-1', 'cmd-a-1-again'));
    expect(reply.ok).toBe(false);
    expect(!reply.ok && reply.error.code).toBe('agent_active');
    await until(() =>
      events.find(
        (d) => d.routingKey === 'command.rejected' && (d.body as { commandId: string }).commandId === 'cmd-a-1-again',
      ),
    );
  });

  it('rejects an unknown behaviour before deciding anything', async () => {
    const reply = await request({ ...start('a-2', 'cmd-a-2'), payload: { behavior: 'teleport' } });
    expect(!reply.ok && reply.error.code).toBe('unknown_behavior');
    expect((await store.streams.load('a-2')).length).toBe(0);
  });

  it('dead-letters a malformed command with the reason while valid ones keep flowing', async () => {
    await bus.publish(
      Exchanges.commands,
      'agent.start',
      { messageId: 'poison-1', type: 'agent.start', agentId: 'bad id!' },
      { messageId: 'poison-1' },
    );
    const reply = await request(start('a-3', 'cmd-a-3'));
    expect(reply.ok).toBe(true);
    const letter = await until(() => deadCommands.find((d) => d.messageId === 'poison-1'));
    expect(String(letter.headers[DEATH_REASON_HEADER])).toMatch(/agentId/);
  });

  it('refuses a messageId already used for another agent or another command type, and dead-letters it', async () => {
    const first = await request(start('a-reuse', 'cmd-reuse'));
    expect(first.ok && first.outcome).toBe('accepted');
    const otherAgent = await request(start('a-reuse-2', 'cmd-reuse'));
    assert.ok(!otherAgent.ok);
    expect(otherAgent.error.code).toBe('message_id_reused');
    expect(otherAgent.error.message).toMatch(/already used for agent a-reuse/);
    expect(otherAgent.error.details).toEqual([{ field: 'messageId', message: otherAgent.error.message }]);
    const otherType = await request({ messageId: 'cmd-reuse', type: 'agent.stop', agentId: 'a-reuse', payload: {} });
    assert.ok(!otherType.ok);
    expect(otherType.error.message).toMatch(/already used for a agent\.start message/);
    // Neither committed anything nor was answered with a-reuse's state.
    expect(await store.streams.load('a-reuse-2')).toEqual([]);
    expect((await store.streams.load('a-reuse')).length).toBe(1);
    const letters = await until(() => {
      const found = deadCommands.filter((d) => (d.body as { messageId?: string }).messageId === 'cmd-reuse');
      return found.length === 2 ? found : undefined;
    });
    for (const letter of letters) expect(String(letter.headers[DEATH_REASON_HEADER])).toMatch(/already used for/);
    // The first command's log entry is not turned into a rejection.
    await sleep(50);
    expect(
      events.some(
        (d) => d.routingKey.startsWith('command.') && (d.body as { commandId?: string }).commandId === 'cmd-reuse',
      ),
    ).toBe(false);
    // A true copy is still a duplicate.
    const copy = await request(start('a-reuse', 'cmd-reuse'));
    expect(copy.ok && copy.outcome).toBe('duplicate');
  });

  it('serialises concurrent commands for one agent across replicas: critical sections never overlap', async () => {
    const { trace, restore } = traceCriticalSections();
    let replies: CommandReply[];
    try {
      replies = await Promise.all(Array.from({ length: 6 }, (_, i) => request(start('race', `race-${i}`))));
    } finally {
      restore();
    }
    const sections = trace.filter((m) => m.agentId === 'race');
    // Every command ran its section to the end, on both replicas, one section at a time.
    expect(sections.filter((m) => m.at === 'enter').length).toBe(6);
    expect(sections.filter((m) => m.at === 'exit').length).toBe(6);
    expect(new Set(sections.map((m) => m.holder))).toEqual(new Set(engines.map((e) => e.owner)));
    expect(maxOverlap(trace, 'race')).toBe(1);
    expect(sections.map((m) => m.at)).toEqual(Array.from({ length: 6 }, () => ['enter', 'exit']).flat());
    expect(replies.filter((r) => r.ok && r.outcome === 'accepted').length).toBe(1);
    expect(replies.filter((r) => !r.ok && r.error.code === 'agent_active').length).toBe(5);
    expect((await store.streams.load('race')).length).toBe(1);
  });

  it('loads a long-lived agent from its latest snapshot, and still knows its first command', async () => {
    const agentId = 'cycled';
    const report = (type: string, messageId: string) =>
      bus.publish(Exchanges.reports, type, {
        messageId,
        type,
        agentId,
        instanceId: 'sa-1',
        attempt: 1,
        payload: {},
        occurredAt: new Date().toISOString(),
      });
    const atVersion = async (version: number) => {
      const deadline = Date.now() + 2_000;
      while ((await store.streams.loadHead(agentId)).commits.at(-1)?.version !== version) {
        if (Date.now() > deadline) throw new Error(`${agentId} did not reach version ${version}`);
        await sleep(5);
      }
    };
    // 30 runs of start, started, stop, stopped: 120 commits.
    for (let run = 0; run < 30; run += 1) {
      expect((await request(start(agentId, `cycle-start-${run}`))).ok).toBe(true);
      await report('session.started', `cycle-started-${run}`);
      await atVersion(run * 4 + 2);
      expect((await request({ messageId: `cycle-stop-${run}`, type: 'agent.stop', agentId, payload: {} })).ok).toBe(
        true,
      );
      await report('session.stopped', `cycle-stopped-${run}`);
      await atVersion(run * 4 + 4);
    }
    const head = await store.streams.loadHead(agentId);
    expect(head.snapshot?.version).toBe(100);
    expect(head.commits.map((c) => c.version)).toEqual(Array.from({ length: 20 }, (_, i) => 101 + i));
    const next = await request(start(agentId, 'cycle-start-last'));
    expect(next.ok && next.view).toMatchObject({ status: 'starting', version: 121, attempts: 1 });
    const first = await request(start(agentId, 'cycle-start-0'));
    expect(first.ok && first.outcome).toBe('duplicate');
  });

  it('routes a stop requested while starting to the instance once the session reports started', async () => {
    await request(start('late', 'cmd-late'));
    const stop = await request({ messageId: 'stop-late', type: 'agent.stop', agentId: 'late', payload: {} });
    expect(stop.ok && stop.view.status).toBe('stopping');
    await bus.publish(Exchanges.reports, 'session.started', {
      messageId: 'rep-late-1',
      type: 'session.started',
      agentId: 'late',
      instanceId: 'sa-1',
      attempt: 1,
      payload: {},
      occurredAt: new Date().toISOString(),
    });
    const routed = await until(() =>
      dispatched.find((d) => d.routingKey === 'sa-1' && (d.body as { agentId: string }).agentId === 'late'),
    );
    expect((routed.body as { type: string }).type).toBe('session.stop');
  });

  it('routes pause and resume to the hosting instance, a pause while starting once the session reports started', async () => {
    const to = (agentId: string, type: string) =>
      dispatched.filter(
        (d) =>
          d.routingKey === 'sa-1' &&
          (d.body as { agentId: string; type: string }).agentId === agentId &&
          (d.body as { type: string }).type === type,
      );
    const started = (agentId: string, messageId: string) =>
      bus.publish(Exchanges.reports, 'session.started', {
        messageId,
        type: 'session.started',
        agentId,
        instanceId: 'sa-1',
        attempt: 1,
        payload: {},
        occurredAt: new Date().toISOString(),
      });
    await request(start('pz', 'cmd-pz'));
    const early = await request({ messageId: 'pause-pz-1', type: 'agent.pause', agentId: 'pz', payload: {} });
    expect(early.ok && early.view).toMatchObject({ status: 'starting', paused: true });
    await started('pz', 'rep-pz-1');
    const pause = await until(() => to('pz', 'session.pause')[0]);
    expect((pause.body as { attempt: number }).attempt).toBe(1);
    const resumed = await request({ messageId: 'resume-pz-1', type: 'agent.resume', agentId: 'pz', payload: {} });
    expect(resumed.ok && resumed.view.status).toBe('running');
    await until(() => to('pz', 'session.resume')[0]);
    const again = await request({ messageId: 'pause-pz-2', type: 'agent.pause', agentId: 'pz', payload: {} });
    expect(again.ok && again.view.status).toBe('paused');
    await until(() => (to('pz', 'session.pause').length === 2 ? true : undefined));
  });

  it('restarts a running agent with its sealed secrets: the stop, then on session.stopped a start carrying them', async () => {
    await bus.publish(
      Exchanges.commands,
      'agent.start',
      { ...start('rs', 'cmd-rs'), payload: { ...start('', '').payload, proxy: 'http://al:Pw-rs@127.0.0.1:9' } },
      { messageId: 'cmd-rs' },
    );
    const first = await until(() =>
      dispatched.find(
        (d) =>
          (d.body as { agentId: string; type: string }).agentId === 'rs' &&
          (d.body as { type: string }).type === 'session.start',
      ),
    );
    const sealed = (first.body as { secrets?: string }).secrets;
    assert.ok(sealed, 'the first start carries sealed secrets');
    await bus.publish(Exchanges.reports, 'session.started', {
      messageId: 'rep-rs-1',
      type: 'session.started',
      agentId: 'rs',
      instanceId: 'sa-1',
      attempt: 1,
      payload: {},
      occurredAt: new Date().toISOString(),
    });
    const restart = await request({ messageId: 'restart-rs', type: 'agent.restart', agentId: 'rs', payload: {} });
    expect(restart.ok && restart.view).toMatchObject({ status: 'stopping', restart: true });
    await until(() =>
      dispatched.find(
        (d) =>
          d.routingKey === 'sa-1' &&
          (d.body as { agentId: string; type: string }).agentId === 'rs' &&
          (d.body as { type: string }).type === 'session.stop',
      ),
    );
    await bus.publish(Exchanges.reports, 'session.stopped', {
      messageId: 'rep-rs-2',
      type: 'session.stopped',
      agentId: 'rs',
      instanceId: 'sa-1',
      attempt: 1,
      payload: { reason: 'restart' },
      occurredAt: new Date().toISOString(),
    });
    const starts = () =>
      dispatched.filter(
        (d) =>
          (d.body as { agentId: string; type: string }).agentId === 'rs' &&
          (d.body as { type: string }).type === 'session.start',
      );
    const second = await until(() => starts()[1]);
    expect((second.body as { secrets?: string; proxy?: string }).secrets).toBe(sealed);
    expect((second.body as { proxy?: string }).proxy).toBe((first.body as { proxy?: string }).proxy);
    expect((second.body as { attempt: number }).attempt).toBe(1);
  });

  it('seals the secrets of a start published in clear before anything keeps them', async () => {
    await bus.publish(
      Exchanges.commands,
      'agent.start',
      {
        ...start('clear-1', 'cmd-clear-1'),
        payload: { ...start('', '').payload, proxy: 'http://al:Pw-in-clear@127.0.0.1:9' },
      },
      { messageId: 'cmd-clear-1' },
    );
    const dispatch = await until(() => dispatched.find((d) => (d.body as { agentId: string }).agentId === 'clear-1'));
    const work = dispatch.body as { proxy: string; secrets: string };
    expect(work.proxy).toBe('http://***:***@127.0.0.1:9/');
    expect(JSON.parse(secrets.open(work.secrets, 'agent:clear-1:start'))).toEqual({
      proxy: 'http://al:Pw-in-clear@127.0.0.1:9',
    });
    const commits = await store.streams.load('clear-1');
    expect(commits.length).toBe(1);
    expect(JSON.stringify(commits)).not.toContain('Pw-in-clear');
  });

  it('commits once a start sent in clear twice under one id (a redelivery after a crash between seal and ack)', async () => {
    const clear = {
      ...start('clear-2', 'cmd-clear-2'),
      payload: { ...start('', '').payload, proxy: 'http://al:pw2@127.0.0.1:9' },
    };
    // Each delivery is sealed afresh (a new IV, so two different copies); the id makes them one command.
    await bus.publish(Exchanges.commands, 'agent.start', clear, { messageId: 'cmd-clear-2' });
    await bus.publish(Exchanges.commands, 'agent.start', clear, { messageId: 'cmd-clear-2' });
    // Both copies handled: nothing ready, in flight or waiting in the queue.
    for (let stats = await bus.queueStats(Queues.engineCommands); stats.messages > 0;) {
      await sleep(10);
      stats = await bus.queueStats(Queues.engineCommands);
    }
    const commits = await store.streams.load('clear-2');
    expect(commits.map((c) => c.commandId)).toEqual(['cmd-clear-2']);
    // The second copy is a duplicate, not a second start refused as `agent_active`.
    const outcomes = events.filter((d) => (d.body as { commandId?: string }).commandId === 'cmd-clear-2');
    expect(outcomes.map((d) => d.routingKey)).not.toContain('command.rejected');
  });

  it('answers and dead-letters, sealed, a start whose sealed secrets do not open here', async () => {
    const forged = sealed(SecretBox.parse(`other:${Buffer.alloc(32, 7).toString('base64')}`));
    const reply = await request({
      ...start('forged-1', 'cmd-forged-1'),
      payload: { ...start('', '').payload, proxy: 'http://al:Pw-forged@127.0.0.1:9', secrets: forged },
    });
    expect(reply.ok).toBe(false);
    expect(!reply.ok && reply.error.message).toMatch(/payload\.secrets: sealed with key other/);
    const dead = await until(() =>
      deadCommands.find((d) => (d.body as { messageId: string }).messageId === 'cmd-forged-1'),
    );
    expect(dead.headers[DEATH_REASON_HEADER]).toMatch(/payload\.secrets/);
    expect(JSON.stringify(dead.body)).not.toContain('Pw-forged');
    expect((await store.streams.load('forged-1')).length).toBe(0);
  });
});

function sealed(box: SecretBox): string {
  return box.seal(JSON.stringify({ proxy: 'http://x:y@127.0.0.1:9' }), 'agent:forged-1:start');
}
