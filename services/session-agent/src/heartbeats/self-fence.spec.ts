import { afterEach, describe, expect, it } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { Exchanges, RoutingKeys, type StartSession } from '@drover/contracts';
import { BehaviorRegistry, type Behavior } from '@drover/behaviors';
import { BusDecorator, DROVER_TOPOLOGY, type Delivery, type PublishOptions } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { DroverMetrics } from '@drover/platform';
import { EgressPolicy, silentLogger, systemClock } from '@drover/runtime';
import type { BrowserLender, LentBrowser } from '../browser/browser-lender';
import { SessionHost } from '../session-host';

const HEARTBEAT_MS = 40;
const LEASE_MS = 300;
/** What a busy machine adds to a measurement: timers and the polling loop run late. */
const SLACK_MS = 150;

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

/** A browser behaviour that ignores its signal for a while after the abort, like a slow page. */
const stubbornBrowser: Behavior<Record<string, never>> = {
  name: 'stubborn-browser',
  description: 'test behaviour',
  configSchema: z.object({}).strict(),
  requires: ['browser'],
  async run({ signal }) {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    await sleep(500);
  },
};

/**
 * The broker as a partitioned host sees it, for heartbeats only: `refuse` makes their publishes
 * fail, `hang` leaves them without a confirm. Reports still go through, so a report a fenced
 * host sends would show.
 */
class HeartbeatFault extends BusDecorator {
  mode: 'ok' | 'refuse' | 'hang' = 'ok';

  override publish(exchange: string, routingKey: string, body: unknown, options?: PublishOptions): Promise<void> {
    if (routingKey === RoutingKeys.heartbeat && this.mode === 'refuse')
      return Promise.reject(new Error('connection closed'));
    if (routingKey === RoutingKeys.heartbeat && this.mode === 'hang') return new Promise(() => undefined);
    return super.publish(exchange, routingKey, body, options);
  }
}

async function until<T>(check: () => T | undefined, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('a session agent fences itself when its heartbeat lease lapses', () => {
  let bus: InMemoryBus;
  let host: SessionHost | undefined;
  let counter = 0;

  afterEach(async () => {
    await host?.shutdown();
    host = undefined;
    await bus.close();
  });

  async function setUp(
    options: { monotonic?: () => number; browsers?: BrowserLender } = {},
    broker: HeartbeatFault['mode'] = 'ok',
  ) {
    bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [20] });
    const faulty = new HeartbeatFault(bus);
    faulty.mode = broker;
    const reports: { at: number; delivery: Delivery }[] = [];
    await bus.declareQueue({ name: 'test.reports', bindings: [{ exchange: Exchanges.reports, pattern: '#' }] });
    await bus.subscribe('test.reports', async (d) => void reports.push({ at: performance.now(), delivery: d }), {
      prefetch: 100,
    });
    const metrics = new DroverMetrics('session-agent');
    host = new SessionHost({
      bus: faulty,
      clock: systemClock,
      logger: silentLogger(),
      egress: { base: EgressPolicy.fromRules(['loopback']), agentsMayAllow: [] },
      registry: new BehaviorRegistry([ticker, stubbornBrowser] as Behavior<never>[]),
      instanceId: 'sa-fence',
      maxConcurrentAgents: 3,
      heartbeatMs: HEARTBEAT_MS,
      leaseMs: LEASE_MS,
      metrics,
      ...options,
    });
    await host.start();
    const dispatch = (agentId: string, behavior = 'ticker', config: Record<string, unknown> = { everyMs: 10 }) => {
      const start: StartSession = {
        messageId: `start-${(counter += 1)}`,
        type: 'session.start',
        agentId,
        attempt: 1,
        behavior,
        config,
        occurredAt: new Date().toISOString(),
      };
      return bus.publish(Exchanges.dispatch, RoutingKeys.pendingSessions, start, { messageId: start.messageId });
    };
    const of = (agentId: string, type?: string) =>
      reports.filter(
        (r) =>
          (r.delivery.body as { agentId?: string }).agentId === agentId && (!type || r.delivery.routingKey === type),
      );
    const heartbeats = () =>
      reports
        .filter((r) => r.delivery.routingKey === RoutingKeys.heartbeat)
        .map((r) => ({ at: r.at, ...(r.delivery.body as { agentIds: string[] }) }));
    const fencedTotal = async () =>
      (await metrics.sessionSelfFenced.get()).values.find((v) => v.labels.instance === 'sa-fence')?.value ?? 0;
    return { faulty, reports, dispatch, of, heartbeats, fencedTotal };
  }

  for (const mode of ['refuse', 'hang'] as const) {
    it(`aborts every session silently within the lease when heartbeats are not confirmed (${mode}), then rejoins empty`, async () => {
      const { faulty, dispatch, of, heartbeats, fencedTotal } = await setUp();
      await dispatch('a-1');
      await dispatch('a-2');
      await until(() => (of('a-1', 'session.activity').length && of('a-2', 'session.activity').length ? 1 : undefined));

      const cutAt = performance.now();
      faulty.mode = mode;
      await until(() => (host!.agentIds().length === 0 ? 1 : undefined), 2_000);
      const fencedAfter = performance.now() - cutAt;
      // The lease runs from the last confirmed beat, sent about one interval before the cut
      // (later on a busy machine, whose interval timer runs late).
      expect(fencedAfter).toBeLessThanOrEqual(LEASE_MS + SLACK_MS);
      expect(fencedAfter).toBeGreaterThanOrEqual(LEASE_MS - HEARTBEAT_MS - SLACK_MS);
      expect(await fencedTotal()).toBe(1);

      // Nothing more from the fenced sessions: no activity, no stopped or failed report. Reports
      // are told apart by when they were made (`occurredAt`), not when the test's queue delivered
      // them: one made just before the fence may still be on its way.
      const fencedAt = performance.now();
      const fencedAtWall = Date.now();
      await sleep(100);
      for (const agentId of ['a-1', 'a-2']) {
        expect(of(agentId).filter((r) => madeAfter(r, fencedAtWall))).toEqual([]);
        expect(of(agentId, 'session.stopped')).toEqual([]);
        expect(of(agentId, 'session.failed')).toEqual([]);
      }
      // Fenced, it takes no work: the start goes back to the queue.
      await dispatch('b-1');
      await sleep(100);
      expect(of('b-1')).toEqual([]);

      // The broker answers again: the host rejoins with no session and takes the start it refused.
      faulty.mode = 'ok';
      const beat = await until(() => heartbeats().find((h) => h.at > fencedAt));
      expect(beat.agentIds).toEqual([]);
      await until(() => of('b-1', 'session.started')[0]);
      expect(host!.agentIds()).toEqual(['b-1']);
      expect(of('a-1', 'session.started')).toHaveLength(1);
      expect(await fencedTotal()).toBe(1);
    });
  }

  it('a host whose first heartbeat is not confirmed takes no work until one is', async () => {
    const { faulty, dispatch, of, fencedTotal } = await setUp({}, 'refuse');
    await dispatch('c-1');
    await sleep(150);
    expect(of('c-1')).toEqual([]);
    faulty.mode = 'ok';
    await until(() => of('c-1', 'session.started')[0]);
    // It never held a lease, so it lost none.
    expect(await fencedTotal()).toBe(0);
  });

  it('a host that was paused past its lease fences itself on waking, before its next report', async () => {
    let skew = 0;
    const { dispatch, of, fencedTotal } = await setUp({ monotonic: () => performance.now() + skew });
    await dispatch('a-1', 'ticker', { everyMs: 20 });
    await until(() => of('a-1', 'session.activity')[0]);
    // As if the process had been frozen for a whole lease: no timer fired in between.
    skew = LEASE_MS;
    const wokeAt = Date.now();
    // The fence comes at the next lease check (every few ms); the bound only allows for a loaded
    // machine (1 s failed under a load average of 10). Reports after waking are what is checked.
    await until(() => (host!.agentIds().length === 0 ? 1 : undefined), 5_000);
    // By when each report was made: one made just before the pause may still be on its way.
    expect(of('a-1').filter((r) => madeAfter(r, wokeAt))).toEqual([]);
    expect(await fencedTotal()).toBe(1);
  });

  it('a paused host whose sessions are quiet fences itself at its next heartbeat, before that heartbeat renews the lease', async () => {
    let skew = 0;
    const { dispatch, of, fencedTotal } = await setUp({ monotonic: () => performance.now() + skew });
    // One report at the start, then silence: no report's lease check comes to the rescue.
    await dispatch('q-1', 'ticker', { everyMs: 60_000 });
    await until(() => of('q-1', 'session.activity')[0]);
    // Frozen for a whole lease; the next heartbeat (every 40 ms) comes before the lapse timer.
    skew = LEASE_MS;
    await until(() => (host!.agentIds().length === 0 ? 1 : undefined), 5_000);
    expect(await fencedTotal()).toBe(1);
  });

  it('closes a browser session at once, without saving its cookies, even while the behaviour lingers', async () => {
    const releases: { saveCookies: boolean | undefined; at: number }[] = [];
    const lent: LentBrowser = {
      browser: {} as LentBrowser['browser'],
      release: async (options) => void releases.push({ saveCookies: options?.saveCookies, at: performance.now() }),
    };
    const browsers = { lend: async () => lent } as unknown as BrowserLender;
    const { faulty, dispatch, of } = await setUp({ browsers });
    await dispatch('w-1', 'stubborn-browser', {});
    await until(() => of('w-1', 'session.started')[0]);
    const cutAt = performance.now();
    faulty.mode = 'refuse';
    await until(() => releases[0], 2_000);
    expect(releases[0]!.saveCookies).toBe(false);
    expect(releases[0]!.at - cutAt).toBeLessThanOrEqual(LEASE_MS + SLACK_MS);
    // The behaviour still runs (it ignores its signal for 500 ms): its slot is held until it ends.
    expect(host!.agentIds()).toEqual(['w-1']);
    await until(() => (host!.agentIds().length === 0 ? 1 : undefined), 2_000);
    expect(of('w-1', 'session.stopped')).toEqual([]);
  });
});

/** Whether a report was made (its `occurredAt`, on the wall clock) after `wallMs`. */
function madeAfter(report: { delivery: Delivery }, wallMs: number): boolean {
  return Date.parse((report.delivery.body as { occurredAt: string }).occurredAt) > wallMs;
}
