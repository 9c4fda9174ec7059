import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { Exchanges, parseEgressRule, RoutingKeys, type EgressRule, type StartSession } from '@drover/contracts';
import { BehaviorRegistry, type Behavior } from '@drover/behaviors';
import { DEATH_REASON_HEADER, DROVER_TOPOLOGY, Queues, type Delivery } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { EgressPolicy, silentLogger, systemClock } from '@drover/runtime';
import { SessionHost } from './session-host';

function parsed(text: string): EgressRule {
  const rule = parseEgressRule(text);
  if (typeof rule === 'string') throw new Error(rule);
  return rule;
}

/** Reports one `tick` activity every `everyMs` until stopped. */
const ticker: Behavior<{ everyMs: number }> = {
  name: 'ticker',
  description: 'test behaviour',
  configSchema: z.object({ everyMs: z.number() }).strict(),
  requires: [],
  async run({ config, report, sleep: wait }) {
    do await report({ kind: 'tick', ok: true });
    while (await wait(config.everyMs));
  },
};
/** Reports which addresses its egress policy lets it reach, then idles. */
const egressProbe: Behavior<Record<string, never>> = {
  name: 'egress-probe',
  description: 'test behaviour',
  configSchema: z.object({}).strict(),
  requires: [],
  async run({ egress, report, sleep: wait }) {
    const reachable = ['127.0.0.1', '10.0.0.1', '169.254.169.254'].filter((a) => !egress.refusalOf(a, 80));
    await report({ kind: 'egress', ok: true, details: { reachable } });
    while (await wait(60_000));
  },
};
/** A browser behaviour, to show why a host without a browser fails it. */
const browsing: Behavior<Record<string, never>> = {
  name: 'browsing',
  description: 'test behaviour',
  configSchema: z.object({}).strict(),
  requires: ['browser'],
  run: () => Promise.resolve(),
};
/** Fails right after starting. */
const crasher: Behavior<Record<string, never>> = {
  name: 'crasher',
  description: 'test behaviour',
  configSchema: z.object({}).strict(),
  requires: [],
  run: () => Promise.reject(new Error('page exploded')),
};

async function until<T>(check: () => T | undefined, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('session host', () => {
  let bus: InMemoryBus;
  let host: SessionHost;
  let reports: Delivery[];
  let counter = 0;

  const body = (d: Delivery) =>
    d.body as { type: string; agentId: string; attempt: number; payload: Record<string, unknown> };
  const reportsOf = (agentId: string, type: string) =>
    reports.filter((d) => d.routingKey === type && body(d).agentId === agentId);
  const heartbeats = () =>
    reports
      .filter((d) => d.routingKey === RoutingKeys.heartbeat)
      .map((d) => d.body as { agentIds: string[]; alive: boolean; capacity: number });
  const dispatch = (
    agentId: string,
    behavior = 'ticker',
    config: Record<string, unknown> = { everyMs: 10 },
    extra: Partial<StartSession> = {},
  ) => {
    const start: StartSession = {
      messageId: `start-${(counter += 1)}`,
      type: 'session.start',
      agentId,
      attempt: 1,
      behavior,
      config,
      ...extra,
      occurredAt: new Date().toISOString(),
    };
    return bus.publish(Exchanges.dispatch, RoutingKeys.pendingSessions, start, { messageId: start.messageId });
  };
  const stop = (agentId: string) =>
    bus.publish(Exchanges.dispatch, 'sa-test', {
      messageId: `stop-${(counter += 1)}`,
      type: 'session.stop',
      agentId,
      attempt: 1,
      reason: 'operator',
      occurredAt: new Date().toISOString(),
    });

  beforeEach(async () => {
    await host?.shutdown();
    await bus?.close();
    bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] });
    reports = [];
    await bus.declareQueue({ name: 'test.reports', bindings: [{ exchange: Exchanges.reports, pattern: '#' }] });
    await bus.subscribe('test.reports', async (d) => void reports.push(d), { prefetch: 100 });
    host = new SessionHost({
      bus,
      clock: systemClock,
      logger: silentLogger(),
      // A dev-like profile: loopback for everyone; agents may add private addresses for themselves.
      egress: { base: EgressPolicy.fromRules(['loopback']), agentsMayAllow: [parsed('private')] },
      browserUnavailable: 'Chromium refused to start',
      registry: new BehaviorRegistry([ticker, crasher, egressProbe, browsing] as Behavior<never>[]),
      instanceId: 'sa-test',
      maxConcurrentAgents: 2,
      heartbeatMs: 60_000,
      leaseMs: 120_000,
    });
    await host.start();
  });
  afterAll(async () => {
    await host.shutdown();
    await bus.close();
  });

  it('runs a session: started, then its activities, with the dispatch attempt and its instance id', async () => {
    await dispatch('a-1');
    await until(() => (reportsOf('a-1', 'session.activity').length >= 3 ? true : undefined));
    const [started] = reportsOf('a-1', 'session.started');
    expect(body(started!).attempt).toBe(1);
    expect((started!.body as { instanceId: string }).instanceId).toBe('sa-test');
    expect(body(reportsOf('a-1', 'session.activity')[0]!).payload.kind).toBe('tick');
    assert.ok(heartbeats()[0], 'heartbeats on start');
  });

  it('stops a session on session.stop and reports stopped with the reason; the slot frees', async () => {
    await dispatch('a-1');
    await until(() => reportsOf('a-1', 'session.started')[0]);
    await stop('a-1');
    const stopped = await until(() => reportsOf('a-1', 'session.stopped')[0]);
    expect(body(stopped).payload.reason).toBe('operator');
    expect(host.agentIds()).toEqual([]);
    await until(() => (heartbeats().at(-1)?.agentIds.length === 0 ? true : undefined));
  });

  it('ignores a stop committed before the start of the session it runs (meant for an earlier session)', async () => {
    await dispatch('a-1');
    await until(() => reportsOf('a-1', 'session.started')[0]);
    await bus.publish(Exchanges.dispatch, 'sa-test', {
      messageId: `stop-${(counter += 1)}`,
      type: 'session.stop',
      agentId: 'a-1',
      attempt: 1,
      reason: 'late',
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
    });
    await sleep(100);
    expect(host.agentIds()).toEqual(['a-1']);
    expect(reportsOf('a-1', 'session.stopped')).toEqual([]);
  });

  it('answers a stop for an agent it does not host with stopped, so the agent never hangs in stopping', async () => {
    await stop('ghost');
    const stopped = await until(() => reportsOf('ghost', 'session.stopped')[0]);
    expect(String(body(stopped).payload.reason)).toMatch(/no session/);
  });

  it('defers a start when every slot is taken', async () => {
    await dispatch('a-1');
    await dispatch('a-2');
    await dispatch('a-3');
    const deferred = await until(() => reportsOf('a-3', 'session.deferred')[0]);
    expect(String(body(deferred).payload.reason)).toMatch(/no free slot/);
    expect(host.agentIds().sort()).toEqual(['a-1', 'a-2']);
  });

  it('fails a session whose behaviour is unknown here or throws', async () => {
    await dispatch('a-1', 'teleport', {});
    const unknown = await until(() => reportsOf('a-1', 'session.failed')[0]);
    expect(String(body(unknown).payload.error)).toMatch(/teleport/);
    await dispatch('a-2', 'crasher', {});
    const crashed = await until(() => reportsOf('a-2', 'session.failed')[0]);
    expect(body(crashed).payload.error).toBe('page exploded');
  });

  it('gives each behaviour the profile’s egress policy, extended by the agent’s own rules within the profile’s', async () => {
    await dispatch('a-1', 'egress-probe', {});
    await dispatch('a-2', 'egress-probe', {}, { egress: { allow: ['10.0.0.0/8'] } });
    const reachable = (agentId: string) =>
      until(() => reportsOf(agentId, 'session.activity')[0]).then(
        (d) => (body(d).payload.details as { reachable: string[] }).reachable,
      );
    expect(await reachable('a-1')).toEqual(['127.0.0.1']);
    expect(await reachable('a-2')).toEqual(['127.0.0.1', '10.0.0.1']);
  });

  it('fails a session whose own egress rules go beyond what the profile lets agents allow', async () => {
    await dispatch('a-1', 'egress-probe', {}, { egress: { allow: ['10.0.0.0/8', '169.254.169.254'] } });
    const failed = await until(() => reportsOf('a-1', 'session.failed')[0]);
    expect(body(failed).payload.error).toBe(
      'egress.allow "169.254.169.254" is not within the run-profile\'s egress.agentsMayAllow',
    );
    expect(reportsOf('a-1', 'session.started')).toEqual([]);
  });

  it('fails a browser behaviour on a host without a browser, saying why there is none', async () => {
    await dispatch('a-1', 'browsing', {});
    const failed = await until(() => reportsOf('a-1', 'session.failed')[0]);
    expect(body(failed).payload.error).toBe('no browser on session agent sa-test (Chromium refused to start)');
  });

  it('fails a session whose config the behaviour refuses, naming the field', async () => {
    await dispatch('a-1', 'ticker', { everyMs: 'often' });
    const failed = await until(() => reportsOf('a-1', 'session.failed')[0]);
    expect(String(body(failed).payload.error)).toMatch(/^invalid config: everyMs: /);
  });

  it('dead-letters a malformed dispatch at once with the reason', async () => {
    const dead: Delivery[] = [];
    await bus.subscribe(`${Queues.pendingSessions}.dead`, async (d) => void dead.push(d));
    await bus.publish(
      Exchanges.dispatch,
      RoutingKeys.pendingSessions,
      { type: 'session.start', agentId: 'a-9' },
      {
        messageId: 'poison-1',
      },
    );
    const letter = await until(() => dead.find((d) => d.messageId === 'poison-1'));
    expect(String(letter.headers[DEATH_REASON_HEADER])).toMatch(/^invalid dispatch: /);
    expect(reportsOf('a-9', 'session.failed').length).toBe(0);
  });

  it('ignores a redelivered start of the attempt it already runs', async () => {
    await dispatch('a-1');
    await dispatch('a-1');
    await until(() => (reportsOf('a-1', 'session.activity').length >= 2 ? true : undefined));
    expect(reportsOf('a-1', 'session.started').length).toBe(1);
  });

  it('on shutdown aborts every session without stopped reports and says goodbye in its heartbeat', async () => {
    await dispatch('a-1');
    await until(() => reportsOf('a-1', 'session.started')[0]);
    await host.shutdown();
    await until(() => (heartbeats().at(-1)?.alive === false ? true : undefined));
    expect(reportsOf('a-1', 'session.stopped').length).toBe(0);
    expect(host.agentIds()).toEqual([]);
  });

  describe('pause and resume', () => {
    const control = (agentId: string, type: 'session.pause' | 'session.resume', attempt = 1, occurredAt = new Date()) =>
      bus.publish(Exchanges.dispatch, 'sa-test', {
        messageId: `${type}-${(counter += 1)}`,
        type,
        agentId,
        attempt,
        occurredAt: occurredAt.toISOString(),
      });
    const kinds = (agentId: string) => reportsOf(agentId, 'session.activity').map((d) => String(body(d).payload.kind));

    it('a pause stops the behaviour acting but keeps the slot; a resume runs it again in the same session', async () => {
      await dispatch('a-1');
      await until(() => (kinds('a-1').length >= 2 ? true : undefined));
      await control('a-1', 'session.pause');
      await until(() => (kinds('a-1').includes('session.paused') ? true : undefined));
      const whenPaused = kinds('a-1').length;
      await sleep(100); // the ticker reports every 10 ms while it runs
      expect(kinds('a-1').length).toBe(whenPaused);
      expect(host.agentIds()).toEqual(['a-1']);
      expect(reportsOf('a-1', 'session.stopped')).toEqual([]);
      expect(reportsOf('a-1', 'session.failed')).toEqual([]);

      await control('a-1', 'session.resume');
      await until(() => (kinds('a-1').filter((k) => k === 'tick').length > whenPaused ? true : undefined));
      expect(kinds('a-1').slice(whenPaused, whenPaused + 2)).toEqual(['session.resumed', 'tick']);
      expect(reportsOf('a-1', 'session.started').length).toBe(1);
    });

    it('a paused session stops on session.stop: stopped reported, slot freed', async () => {
      await dispatch('a-1');
      await until(() => reportsOf('a-1', 'session.started')[0]);
      await control('a-1', 'session.pause');
      await until(() => (kinds('a-1').includes('session.paused') ? true : undefined));
      await stop('a-1');
      const stopped = await until(() => reportsOf('a-1', 'session.stopped')[0]);
      expect(body(stopped).payload.reason).toBe('operator');
      expect(host.agentIds()).toEqual([]);
    });

    it('a start marked paused takes the slot and reports started but runs no behaviour until resumed', async () => {
      await dispatch('a-1', 'ticker', { everyMs: 10 }, { paused: true });
      await until(() => reportsOf('a-1', 'session.started')[0]);
      await sleep(100);
      expect(kinds('a-1')).toEqual(['session.paused']);
      expect(host.agentIds()).toEqual(['a-1']);
      await control('a-1', 'session.resume');
      await until(() => (kinds('a-1').includes('tick') ? true : undefined));
    });

    it('ignores a pause for another attempt or one committed before the session started', async () => {
      await dispatch('a-1');
      await until(() => reportsOf('a-1', 'session.started')[0]);
      await control('a-1', 'session.pause', 2);
      await control('a-1', 'session.pause', 1, new Date(Date.now() - 60_000));
      const before = kinds('a-1').length;
      await until(() => (kinds('a-1').length > before + 2 ? true : undefined));
      expect(kinds('a-1')).not.toContain('session.paused');
    });

    it('a paused session ends silently on shutdown, like a running one', async () => {
      await dispatch('a-1');
      await until(() => reportsOf('a-1', 'session.started')[0]);
      await control('a-1', 'session.pause');
      await until(() => (kinds('a-1').includes('session.paused') ? true : undefined));
      await host.shutdown();
      expect(reportsOf('a-1', 'session.stopped')).toEqual([]);
      expect(host.agentIds()).toEqual([]);
    });
  });
});
