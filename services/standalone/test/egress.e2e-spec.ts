import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithChromium } from '../../../libs/behaviors/src/testing/test-browser';
import {
  eventually,
  http,
  startStandaloneProcess,
  writeFastProfile,
  type StandaloneProcess,
} from './standalone-process';

type Item = Record<string, unknown>;

/**
 * The egress policy end to end, on a profile that allows one loopback site (a fixture on
 * 127.0.0.1:<port>) and nothing else of the default refusals: not the standalone's own gateway
 * on another loopback port, not the metadata address, not private networks. Nothing here ever
 * connects beyond 127.0.0.1: every refusal happens before a connection.
 */
describeWithChromium('standalone system: the egress policy', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-egress-'));
  let site: Server;
  let siteUrl: string;
  const siteHits: string[] = [];
  let profilesDir: string;
  let system: StandaloneProcess;
  let api: string;

  beforeAll(async () => {
    site = createServer((req, res) => {
      siteHits.push(req.url ?? '');
      const to = new URL(req.url ?? '/', 'http://site').searchParams.get('to');
      if (req.url?.startsWith('/redirect') && to) {
        res.writeHead(302, { location: to }).end();
      } else if (req.url === '/with-forbidden-image') {
        res.setHeader('content-type', 'text/html');
        res.end('<title>fixture</title><p>hello</p><img src="http://10.0.0.1/pixel.png">');
      } else {
        res.setHeader('content-type', 'text/html');
        res.end('<title>fixture</title><p>hello</p>');
      }
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    profilesDir = writeFastProfile({
      // Every agent of this file keeps running to the end.
      sessionAgent: { maxConcurrentAgents: 20, heartbeatMs: 200, leaseMs: 3_000 },
      egress: { allow: [new URL(siteUrl).host], agentsMayAllow: ['private'] },
    });
    system = await startStandaloneProcess(dataDir, profilesDir);
    api = `${system.url}/api`;
  });
  afterAll(async () => {
    system?.child.kill('SIGKILL');
    await system?.exited;
    await new Promise<void>((resolve) => site?.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });

  const start = async (agentId: string, body: Item) => {
    const answer = await http(`${api}/agents`, { method: 'POST', body: { agentId, ...body } });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
  };
  const monitor = (agentId: string, url: string) =>
    start(agentId, { behavior: 'http-monitor', config: { url, intervalMs: 500, timeoutMs: 10_000 } });
  const activities = async (agentId: string) =>
    ((await http(`${api}/agents/${agentId}/activities?limit=100`)).body as { items: Item[] }).items;
  const first = (agentId: string, kind: string, what = `${agentId}: ${kind}`) =>
    eventually(
      what,
      async () => (await activities(agentId)).reverse().find((activity) => activity.kind === kind),
      60_000,
    );

  it.each([
    ['the metadata address', 'http://169.254.169.254/latest/meta-data/', '169.254.169.254 is link-local (metadata)'],
    ['a private address', 'http://10.0.0.1/', '10.0.0.1 is private'],
  ])('refuses an http-monitor aimed at %s, saying why in its activities', async (_what, url, reason) => {
    const agentId = `mon-${reason.split(' ')[0]!.replace(/\./g, '-')}`;
    await monitor(agentId, url);
    const check = await first(agentId, 'http.check');
    expect([check.ok, check.message]).toEqual([false, `egress refused: ${reason}`]);
    // A refusal is a failed check, never a failed session: the agent keeps running.
    expect((await http(`${api}/agents/${agentId}/status`)).body.status).toBe('running');
  });

  it('refuses the gateway’s own /metrics on loopback, which the profile does not allow', async () => {
    await monitor('mon-metrics', `${system.url}/metrics`);
    const check = await first('mon-metrics', 'http.check');
    expect([check.ok, check.message]).toEqual([false, 'egress refused: 127.0.0.1 is loopback']);
  });

  it('lets an http-monitor reach the allowed loopback site, and refuses its redirect to a forbidden one', async () => {
    await monitor('mon-site', `${siteUrl}/plain`);
    const ok = await first('mon-site', 'http.check');
    expect([ok.ok, (ok.details as Item).status]).toEqual([true, 200]);

    const to = encodeURIComponent(`${system.url}/metrics`);
    await monitor('mon-redirect', `${siteUrl}/redirect?to=${to}`);
    const refused = await first('mon-redirect', 'http.check');
    expect([refused.ok, refused.message]).toEqual([false, 'egress refused: 127.0.0.1 is loopback']);
    expect(siteHits.some((hit) => hit.startsWith('/redirect'))).toBe(true);
  });

  it('fails a page load the policy refuses with the reason', async () => {
    await start('page-metadata', {
      behavior: 'page-monitor',
      config: { url: 'http://169.254.169.254/latest/meta-data/', intervalMs: 1_000, screenshot: 'never' },
    });
    const check = await first('page-metadata', 'page.check');
    expect([check.ok, check.message]).toEqual([false, 'egress refused: 169.254.169.254 is link-local (metadata)']);
  });

  it('refuses a browser redirect from the allowed site to a forbidden one, and a forbidden subresource', async () => {
    const to = encodeURIComponent(`${system.url}/metrics`);
    await start('page-redirect', {
      behavior: 'page-monitor',
      config: { url: `${siteUrl}/redirect?to=${to}`, intervalMs: 1_000, screenshot: 'never' },
    });
    const check = await first('page-redirect', 'page.check');
    // The proxy answered the redirect's target with a 403 page whose title is the reason.
    expect([check.ok, check.message, (check.details as Item).title]).toEqual([
      false,
      'HTTP 403',
      'egress refused: 127.0.0.1 is loopback',
    ]);
    const redirected = await first('page-redirect', 'egress.refused');
    expect(redirected.message).toBe('egress refused: 127.0.0.1 is loopback');
    expect((redirected.details as Item).target).toBe(`127.0.0.1:${new URL(system.url).port}`);

    await start('page-image', {
      behavior: 'page-monitor',
      config: { url: `${siteUrl}/with-forbidden-image`, intervalMs: 1_000, screenshot: 'never' },
    });
    const page = await first('page-image', 'page.check');
    expect([page.ok, (page.details as Item).title]).toEqual([true, 'fixture']);
    const image = await first('page-image', 'egress.refused');
    expect([image.message, (image.details as Item).target]).toEqual([
      'egress refused: 10.0.0.1 is private',
      '10.0.0.1:80',
    ]);
  });

  it('fails an agent whose own egress rules go beyond what the profile lets agents allow', async () => {
    await start('mon-greedy', {
      behavior: 'http-monitor',
      config: { url: 'http://169.254.169.254/', intervalMs: 1_000 },
      egress: { allow: ['169.254.169.254'] },
    });
    const failed = await eventually(
      'mon-greedy failed',
      async () => {
        const view = (await http(`${api}/agents/mon-greedy/status`)).body;
        return view.status === 'failed' ? view : undefined;
      },
      60_000,
    );
    expect(String(failed.lastError)).toContain(
      'egress.allow "169.254.169.254" is not within the run-profile\'s egress.agentsMayAllow',
    );
  });

  it('answers 400 naming the field for an egress rule that does not parse', async () => {
    const answer = await http(`${api}/agents`, {
      method: 'POST',
      body: {
        agentId: 'mon-bad',
        behavior: 'http-monitor',
        config: { url: siteUrl, intervalMs: 1_000 },
        egress: { allow: ['10.0.0.0/33'] },
      },
    });
    expect(answer.status).toBe(400);
    const details = (answer.body.error as { details: { field: string; message: string }[] }).details;
    expect(details.map((d) => d.field)).toEqual(['egress.allow.0']);
    expect(details[0]?.message).toMatch(/prefix length/);
  });
});

describe('standalone system: Chromium’s sandbox as root', () => {
  const asRoot = process.getuid?.() === 0;
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-sandbox-'));
  const profilesDir = writeFastProfile();
  let system: StandaloneProcess;

  beforeAll(async () => {
    // The operator did not opt out of the sandbox (the test run otherwise does, as root).
    system = await startStandaloneProcess(dataDir, profilesDir, { CHROME_NO_SANDBOX: 'false', LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    system?.child.kill('SIGKILL');
    await system?.exited;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });

  it('runs Chromium with its sandbox where it can; as root without CHROME_NO_SANDBOX, says why it cannot', async () => {
    const api = `${system.url}/api`;
    await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'page-1', behavior: 'page-monitor', config: { url: `${system.url}/live`, intervalMs: 1_000 } },
    });
    await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'mon-1', behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 500 } },
    });
    const check = await eventually(
      'mon-1 checked',
      async () => {
        const items = ((await http(`${api}/agents/mon-1/activities`)).body as { items: Item[] }).items;
        return items.find((a) => a.kind === 'http.check');
      },
      60_000,
    );
    expect(check.ok).toBe(true);
    // The profile lifts a default refusal, and the start-up log says so.
    expect(system.output()).toContain('egress: loopback allowed by the e2e profile');
    if (!asRoot) {
      // An unprivileged user on a kernel with user namespaces: the sandboxed browser works.
      const page = await eventually(
        'page-1 checked',
        async () => {
          const items = ((await http(`${api}/agents/page-1/activities`)).body as { items: Item[] }).items;
          return items.find((a) => a.kind === 'page.check');
        },
        60_000,
      );
      expect(page.ok).toBe(true);
      return;
    }
    const reason =
      "Chromium's sandbox cannot run as root: run the session agent as an unprivileged user (the image does), " +
      'or set CHROME_NO_SANDBOX=true to run Chromium without its sandbox';
    expect(system.output()).toContain(`${reason}: browser behaviours cannot run here`);
    const failed = await eventually(
      'page-1 failed',
      async () => {
        const view = (await http(`${api}/agents/page-1/status`)).body;
        return view.status === 'failed' ? view : undefined;
      },
      60_000,
    );
    expect(String(failed.lastError)).toContain(reason);
  });
});
