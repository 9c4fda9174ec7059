import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as ProxyServer } from 'proxy-chain';
import type { Activity } from '@drover/contracts';
import { EgressPolicy, silentLogger } from '@drover/runtime';
import { abortableSleep } from '../abortable-sleep';
import { LOOPBACK_ALLOWED } from '../testing/behavior-context';
import { validateBehaviorConfig } from '../catalog';
import { httpMonitor } from './http-monitor.behavior';
import type { HttpMonitorConfig } from './http-monitor.schema';

describe('http-monitor', () => {
  let server: Server;
  let base: string;
  let hits = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits += 1;
      const redirect = /^\/redirect\?to=(.+)$/.exec(req.url ?? '');
      if (redirect) {
        res.writeHead(302, { location: decodeURIComponent(redirect[1]!) }).end();
        return;
      }
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Runs the behaviour until it has reported `count` activities, then stops it. */
  async function runUntil(
    config: HttpMonitorConfig,
    count: number,
    proxy?: string,
    egress: EgressPolicy = LOOPBACK_ALLOWED,
  ): Promise<Activity[]> {
    const controller = new AbortController();
    const activities: Activity[] = [];
    await httpMonitor.run({
      agentId: 'a-1',
      config,
      ...(proxy ? { proxy } : {}),
      egress,
      signal: controller.signal,
      logger: silentLogger(),
      capabilities: {},
      sleep: (ms) => abortableSleep(ms, controller.signal),
      report: async (activity) => {
        activities.push(activity);
        if (activities.length >= count) controller.abort();
      },
    });
    return activities;
  }

  it('GETs the URL each tick and records one http.check per GET with status and latency', async () => {
    const before = hits;
    const activities = await runUntil({ url: `${base}/`, intervalMs: 100 }, 3);
    expect(activities.length).toBe(3);
    expect(hits - before).toBe(3);
    for (const activity of activities) {
      expect(activity.kind).toBe('http.check');
      expect(activity.ok).toBe(true);
      expect(activity.details?.status).toBe(200);
      expect(typeof activity.details?.ms).toBe('number');
    }
  });

  it('is not ok on an error status, or on a status other than expectStatus', async () => {
    const [missing] = await runUntil({ url: `${base}/missing`, intervalMs: 100 }, 1);
    expect(missing?.ok).toBe(false);
    expect(missing?.details?.status).toBe(404);
    const [expected] = await runUntil({ url: `${base}/missing`, intervalMs: 100, expectStatus: 404 }, 1);
    expect(expected?.ok).toBe(true);
    const [unexpected] = await runUntil({ url: `${base}/`, intervalMs: 100, expectStatus: 204 }, 1);
    expect(unexpected?.ok).toBe(false);
  });

  it('records an unreachable URL as a failed check with the reason, and keeps going', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const activities = await runUntil({ url: `http://127.0.0.1:${port}/`, intervalMs: 100 }, 2);
    expect(activities.length).toBe(2);
    expect(activities[0]?.ok).toBe(false);
    expect(activities[0]?.message ?? '').toMatch(/ECONNREFUSED/);
  });

  it('sends every GET through the agent’s proxy, with the agent’s credentials', async () => {
    const seen: string[] = [];
    const upstream = new ProxyServer({
      port: 0,
      host: '127.0.0.1',
      prepareRequestFunction: ({ username, password, hostname }) => {
        seen.push(`${username}:${password}@${hostname}`);
        return { requestAuthentication: password !== 'right' };
      },
    });
    await upstream.listen();
    try {
      const before = hits;
      const good = await runUntil(
        { url: `${base}/`, intervalMs: 100 },
        2,
        `http://alice:right@127.0.0.1:${upstream.port}`,
      );
      expect(good.map((a) => [a.kind, a.ok, a.details?.status])).toEqual([
        ['http.check', true, 200],
        ['http.check', true, 200],
      ]);
      expect(hits - before).toBe(2);
      // undici tunnels through the proxy (CONNECT) and keeps the tunnel for the next GET.
      expect(seen.length >= 1).toBeTruthy();
      assert.ok(
        seen.every((entry) => entry === 'alice:right@127.0.0.1'),
        seen.join(', '),
      );

      // Refused credentials: the check fails, the proxy failure is recorded, the password never shows.
      const bad = await runUntil(
        { url: `${base}/`, intervalMs: 100 },
        2,
        `http://alice:wrong@127.0.0.1:${upstream.port}`,
      );
      const check = bad.find((a) => a.kind === 'http.check');
      expect(check?.ok).toBe(false);
      const failure = bad.find((a) => a.kind === 'proxy.error');
      assert.ok(failure, JSON.stringify(bad));
      expect(failure.ok).toBe(false);
      expect(JSON.stringify(bad)).not.toMatch(/wrong/);
      assert.equal(hits - before, 2, 'nothing reached the site around the proxy');
    } finally {
      await upstream.close(true);
    }
  });

  describe('egress policy', () => {
    const port = () => Number(new URL(base).port);
    const onlyThisSite = () => EgressPolicy.fromRules([`127.0.0.1:${port()}`]);

    it.each([
      ['the metadata address', 'http://169.254.169.254/latest/meta-data/', '169.254.169.254 is link-local (metadata)'],
      ['a private address', 'http://10.0.0.1/', '10.0.0.1 is private'],
      [
        'an IPv4-mapped loopback address',
        'http://[::ffff:127.0.0.1]:8080/',
        '::ffff:7f00:1 (IPv4-mapped 127.0.0.1) is loopback',
      ],
    ])('refuses %s before connecting, and says why', async (_what, url, reason) => {
      const [check] = await runUntil(
        { url, intervalMs: 100, timeoutMs: 5_000 },
        1,
        undefined,
        EgressPolicy.fromRules([]),
      );
      expect(check?.kind).toBe('http.check');
      expect(check?.ok).toBe(false);
      expect(check?.message).toBe(`egress refused: ${reason}`);
    });

    it('refuses loopback unless the profile allows it; a name resolving to loopback too', async () => {
      const before = hits;
      const [direct] = await runUntil({ url: `${base}/`, intervalMs: 100 }, 1, undefined, EgressPolicy.fromRules([]));
      expect(direct?.message).toBe('egress refused: 127.0.0.1 is loopback');
      const [named] = await runUntil(
        { url: `http://localhost:${port()}/`, intervalMs: 100 },
        1,
        undefined,
        EgressPolicy.fromRules([]),
      );
      expect(named?.message ?? '').toMatch(
        /^egress refused: localhost resolves to (127\.0\.0\.1|::1), which is loopback$/,
      );
      expect(hits - before).toBe(0);
    });

    it('refuses a redirect from an allowed site to a forbidden one', async () => {
      const before = hits;
      const to = encodeURIComponent('http://169.254.169.254/latest/meta-data/');
      const [check] = await runUntil(
        { url: `${base}/redirect?to=${to}`, intervalMs: 100 },
        1,
        undefined,
        onlyThisSite(),
      );
      expect(check?.ok).toBe(false);
      expect(check?.message).toBe('egress refused: 169.254.169.254 is link-local (metadata)');
      expect(hits - before).toBe(1);
      // Another port of the same loopback address is not the allowed site either.
      const other = encodeURIComponent(`http://127.0.0.1:${port() === 1 ? 2 : port() - 1}/`);
      const [again] = await runUntil(
        { url: `${base}/redirect?to=${other}`, intervalMs: 100 },
        1,
        undefined,
        onlyThisSite(),
      );
      expect(again?.message ?? '').toMatch(/^egress refused: 127\.0\.0\.1 is loopback$/);
    });

    it('reaches an allowed host name (localhost) through the addresses it checked', async () => {
      const [check] = await runUntil({ url: `http://localhost:${port()}/`, intervalMs: 100 }, 1);
      expect([check?.ok, check?.details?.status, check?.message]).toEqual([true, 200, undefined]);
    });

    it('follows a redirect within what is allowed', async () => {
      const to = encodeURIComponent(`${base}/`);
      const [check] = await runUntil(
        { url: `${base}/redirect?to=${to}`, intervalMs: 100 },
        1,
        undefined,
        onlyThisSite(),
      );
      expect([check?.ok, check?.details?.status]).toEqual([true, 200]);
    });

    it('through the agent’s proxy, refuses a forbidden target at the local endpoint and a forbidden upstream', async () => {
      const upstream = new ProxyServer({ port: 0, host: '127.0.0.1' });
      await upstream.listen();
      try {
        const policy = EgressPolicy.fromRules([`127.0.0.1:${upstream.port}`]);
        const [check] = await runUntil(
          { url: 'http://10.0.0.1/', intervalMs: 100, timeoutMs: 5_000 },
          1,
          `http://u:p@127.0.0.1:${upstream.port}`,
          policy,
        );
        expect(check?.ok).toBe(false);
        expect(check?.message).toBe('egress refused: 10.0.0.1 is private');
        await expect(
          runUntil({ url: 'http://10.0.0.1/', intervalMs: 100 }, 1, 'http://169.254.169.254:80', policy),
        ).rejects.toThrow('egress refused: upstream proxy 169.254.169.254 is link-local (metadata)');
      } finally {
        await upstream.close(true);
      }
    });
  });

  it('returns as soon as it is stopped, even in the middle of a long interval', async () => {
    const controller = new AbortController();
    const running = httpMonitor.run({
      agentId: 'a-1',
      config: { url: `${base}/`, intervalMs: 3_600_000 },
      egress: LOOPBACK_ALLOWED,
      signal: controller.signal,
      logger: silentLogger(),
      capabilities: {},
      sleep: (ms) => abortableSleep(ms, controller.signal),
      report: async () => void controller.abort(),
    });
    // Resolves only because the abort cut the hour-long sleep short.
    await running;
    expect(controller.signal.aborted).toBe(true);
  });
});

describe('behaviour config validation', () => {
  it('names the offending field under config', () => {
    const check = validateBehaviorConfig('http-monitor', { url: 'ftp://x/', intervalMs: 10 });
    expect(check.ok).toBe(false);
    expect(!check.ok && check.issues.map((i) => i.field).sort()).toEqual(['config.intervalMs', 'config.url']);
    expect(!check.ok && check.code).toBe('invalid_config');
  });
  it('rejects unknown config keys and unknown behaviours', () => {
    const extra = validateBehaviorConfig('http-monitor', { url: 'http://x/', intervalMs: 100, colour: 'red' });
    expect(extra.ok).toBe(false);
    const unknown = validateBehaviorConfig('teleport', {});
    expect(!unknown.ok && unknown.code).toBe('unknown_behavior');
  });
  it('accepts a valid config', () => {
    const check = validateBehaviorConfig('http-monitor', { url: 'https://example.test/', intervalMs: 100 });
    expect(check.ok).toBe(true);
  });
});
