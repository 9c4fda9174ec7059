import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { reportMissing } from '@drover/testing';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as ProxyServer } from 'proxy-chain';
import pino from 'pino';
import { EgressPolicy } from '@drover/runtime';
import { BrowserHost, resolveChromePath, type BrowserSession, type CookieData } from './index';
import { processTree } from './process-tree';

const chromePath = resolveChromePath();
/** The fixtures and upstream proxies of these tests listen on 127.0.0.1. */
const LOOPBACK = EgressPolicy.fromRules(['loopback']);
/** The test run's opt-out of Chromium's sandbox (jest's global setup sets it as root). */
const NO_SANDBOX = process.env.CHROME_NO_SANDBOX === 'true';

async function eventually<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const procGone = (pid: number) => !existsSync(`/proc/${pid}`);

function userDataDirOf(pid: number): string {
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const flag = args.find((arg) => arg.startsWith('--user-data-dir='));
  assert.ok(flag, `browser ${pid} has a --user-data-dir`);
  return flag.slice('--user-data-dir='.length);
}

/** The page the app server renders at `/`: the cookies it received. */
async function visit(session: BrowserSession, url: string): Promise<string> {
  const page = await session.page();
  const response = await page.goto(url, { waitUntil: 'load', timeout: 20_000 });
  assert.ok(response, `a response for ${url}`);
  return response.text();
}

const sid = (cookies: CookieData[]) => cookies.find((cookie) => cookie.name === 'sid')?.value;

function upstream(user: string, password: string, hits: string[]): ProxyServer {
  return new ProxyServer({
    port: 0,
    host: '127.0.0.1',
    prepareRequestFunction: ({ username, password: given, request }) => {
      if (username !== user || given !== password) return { requestAuthentication: true };
      hits.push(`${username} ${request.url ?? ''}`);
      return {};
    },
  });
}

if (!existsSync(chromePath)) {
  reportMissing(`Chromium not found at ${chromePath} (set CHROME_PATH): browser tests not run`);
} else {
  describe('BrowserHost with real Chromium', () => {
    let app: HttpServer;
    let appUrl = '';
    const hitsA: string[] = [];
    const hitsB: string[] = [];
    const proxyA = upstream('userA', 'secretA', hitsA);
    const proxyB = upstream('userB', 'secretB', hitsB);
    const rebuilt: string[] = [];
    const proxyErrors: { agentId: string; errorClass: string; message: string }[] = [];
    const refusals: { agentId: string; target: string; reason: string }[] = [];
    const browserPids = new Set<number>();
    const processes = new Set<number>();
    const profiles = new Set<string>();
    let host: BrowserHost;
    let a: BrowserSession;
    let b: BrowserSession;

    /** Remembers the current browser, its processes and its profile dir, to check they are all gone at the end. */
    const remember = () => {
      const pid = host.stats().browserPid;
      assert.ok(pid, 'a browser pid');
      browserPids.add(pid);
      for (const child of processTree(pid)) processes.add(child);
      profiles.add(userDataDirOf(pid));
      return pid;
    };

    beforeAll(async () => {
      app = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://app');
        if (url.pathname === '/login') {
          res.setHeader('set-cookie', `sid=${url.searchParams.get('name') ?? 'anon'}; Path=/; Max-Age=3600`);
          res.end('logged in');
        } else {
          res.setHeader('content-type', 'text/plain');
          res.end(`cookies=${req.headers.cookie ?? ''}`);
        }
      });
      await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
      appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
      await proxyA.listen();
      await proxyB.listen();
      host = new BrowserHost({
        chromePath,
        noSandbox: NO_SANDBOX,
        logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
        snapshotEveryMs: 500,
        onRebuilt: (agentId, reason) => rebuilt.push(`${agentId}:${reason}`),
        onProxyError: (agentId, failure) => proxyErrors.push({ agentId, ...failure }),
        onEgressRefused: (agentId, refusal) => refusals.push({ agentId, ...refusal }),
      });
      await host.start();
      remember();
    });

    afterAll(async () => {
      await host?.shutdown();
      await proxyA.close(true);
      await proxyB.close(true);
      await new Promise((resolve) => app?.close(resolve));
    });

    it('routes each session through its own upstream with its own credentials', async () => {
      a = await host.openSession({
        agentId: 'agent-a',
        egress: LOOPBACK,
        proxy: `http://userA:secretA@127.0.0.1:${proxyA.port}`,
      });
      b = await host.openSession({
        agentId: 'agent-b',
        egress: LOOPBACK,
        proxy: `http://userB:secretB@127.0.0.1:${proxyB.port}`,
      });
      await visit(a, `${appUrl}/login?name=alice`);
      await visit(b, `${appUrl}/login?name=bob`);
      expect(await visit(a, `${appUrl}/`)).toMatch(/sid=alice/);
      expect(await visit(b, `${appUrl}/`)).toMatch(/sid=bob/);

      expect(hitsA.some((hit) => hit === `userA ${appUrl}/login?name=alice`)).toBeTruthy();
      expect(hitsB.some((hit) => hit === `userB ${appUrl}/login?name=bob`)).toBeTruthy();
      assert.ok(
        hitsA.every((hit) => hit.startsWith('userA ') && !hit.includes('bob')),
        hitsA.join('\n'),
      );
      assert.ok(
        hitsB.every((hit) => hit.startsWith('userB ') && !hit.includes('alice')),
        hitsB.join('\n'),
      );
      expect(host.stats().sessions).toBe(2);
    });

    it('returns cookies on close and restores them in a new session', async () => {
      expect(sid(await a.cookies())).toBe('alice');
      const final = await a.close();
      expect(sid(final)).toBe('alice');
      expect(host.stats().sessions).toBe(1);
      a = await host.openSession({
        agentId: 'agent-a',
        egress: LOOPBACK,
        proxy: `http://userA:secretA@127.0.0.1:${proxyA.port}`,
        cookies: final,
      });
      expect(await visit(a, `${appUrl}/`)).toMatch(/sid=alice/);
    });

    it('reports upstream proxy failures without the credentials', async () => {
      const bad = await host.openSession({
        agentId: 'agent-bad',
        egress: LOOPBACK,
        proxy: `http://userA:wrong-Pa55word@127.0.0.1:${proxyA.port}`,
      });
      const page = await bad.page();
      await page.goto(`${appUrl}/`, { timeout: 20_000 }).catch(() => undefined);
      const failure = await eventually(() => proxyErrors.find((e) => e.agentId === 'agent-bad'), 'onProxyError');
      expect(failure.errorClass.length > 0).toBeTruthy();
      assert.ok(!failure.message.includes('wrong-Pa55word'), failure.message);
      expect(!JSON.stringify(proxyErrors).includes('wrong-Pa55word')).toBeTruthy();
      expect(!hitsA.some((hit) => hit.includes('wrong'))).toBeTruthy();
      await bad.close();
    });

    it('refuses navigations the egress policy forbids with the reason, and every request of the page beyond it', async () => {
      const session = await host.openSession({
        agentId: 'agent-egress',
        egress: EgressPolicy.fromRules([new URL(appUrl).host]),
      });
      const page = await session.page();
      for (const [url, reason] of [
        ['file:///etc/passwd', 'file: URLs are not allowed'],
        ['data:text/html,<p>hi</p>', 'data: URLs are not allowed'],
        ['chrome://version', 'chrome: URLs are not allowed'],
        ['http://169.254.169.254/latest/meta-data/', '169.254.169.254 is link-local (metadata)'],
      ] as const) {
        await expect(page.goto(url, { timeout: 20_000 })).rejects.toThrow(`egress refused: ${reason}`);
      }
      // The page itself reaches further (a fetch, from the allowed site): the proxy refuses it.
      await page.goto(`${appUrl}/`, { timeout: 20_000 });
      await page.evaluate(() => fetch('http://10.0.0.1/secret', { mode: 'no-cors' }).catch(() => undefined));
      const refusal = await eventually(
        () => refusals.find((r) => r.agentId === 'agent-egress' && r.target === '10.0.0.1:80'),
        'onEgressRefused',
      );
      expect(refusal.reason).toBe('10.0.0.1 is private');
      await session.close();
    });

    it('recycle moves the sessions to a new browser with their cookies', async () => {
      const oldPid = remember();
      rebuilt.length = 0;
      await host.recycle('test');
      const newPid = remember();
      expect(newPid).not.toBe(oldPid);
      expect([...rebuilt].sort()).toEqual(['agent-a:recycle', 'agent-b:recycle']);
      expect(host.stats().recycles).toBe(1);
      await eventually(() => procGone(oldPid), `old browser ${oldPid} gone`);
      expect(await visit(a, `${appUrl}/`)).toMatch(/sid=alice/);
      expect(await visit(b, `${appUrl}/`)).toMatch(/sid=bob/);
      const before = hitsB.length;
      await visit(b, `${appUrl}/login?name=bob2`);
      expect(hitsB.slice(before).some((hit) => hit === `userB ${appUrl}/login?name=bob2`)).toBeTruthy();
    });

    it('rebuilds every session from its cookie snapshot after a crash', async () => {
      const pid = remember();
      expect(sid(await b.cookies())).toBe('bob2'); // refreshes the snapshot the rebuild uses
      rebuilt.length = 0;
      process.kill(pid, 'SIGKILL');
      await eventually(() => rebuilt.length === 2, 'onRebuilt for both sessions');
      expect([...rebuilt].sort()).toEqual(['agent-a:crash', 'agent-b:crash']);
      expect(host.stats().crashes).toBe(1);
      expect(host.stats().browserPid).not.toBe(pid);
      remember();
      expect(await visit(a, `${appUrl}/`)).toMatch(/sid=alice/);
      expect(await visit(b, `${appUrl}/`)).toMatch(/sid=bob2/);
      await eventually(() => procGone(pid), `crashed browser ${pid} gone`);
    });

    it('shutdown leaves no chromium process and no profile dir behind', async () => {
      remember();
      await host.shutdown();
      expect(host.stats().sessions).toBe(0);
      expect(host.stats().browserPid).toBe(undefined);
      await eventually(() => [...processes].every(procGone), 'every chromium process gone', 10_000).catch(() => {
        const left = [...processes].filter((pid) => !procGone(pid));
        assert.fail(`chromium processes left: ${left.join(', ')} (of browsers ${[...browserPids].join(', ')})`);
      });
      for (const dir of profiles) assert.ok(!existsSync(dir), `${dir} removed`);
      expect(profiles.size >= 3).toBeTruthy();
      await assert.rejects(host.openSession({ agentId: 'late', egress: LOOPBACK }), /shutting down/);
    });
  });

  describe('BrowserHost recycling limits', () => {
    const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

    it('recycles before opening a context past maxContextsPerBrowser', async () => {
      const rebuilt: string[] = [];
      const host = new BrowserHost({
        chromePath,
        noSandbox: NO_SANDBOX,
        logger,
        maxContextsPerBrowser: 2,
        onRebuilt: (agentId, reason) => rebuilt.push(`${agentId}:${reason}`),
      });
      await host.start();
      try {
        const first = host.stats().browserPid;
        await host.openSession({ agentId: 's1', egress: LOOPBACK });
        await host.openSession({ agentId: 's2', egress: LOOPBACK });
        expect(host.stats().recycles).toBe(0);
        const s3 = await host.openSession({ agentId: 's3', egress: LOOPBACK });
        expect(host.stats().recycles).toBe(1);
        expect(host.stats().browserPid).not.toBe(first);
        expect(rebuilt.sort()).toEqual(['s1:recycle', 's2:recycle']);
        expect(host.stats().contextsOnBrowser).toBe(3);
        expect(!(await s3.page()).isClosed()).toBeTruthy();
      } finally {
        await host.shutdown();
      }
    });

    it('recycles when the process tree passes maxBrowserRssMb', async () => {
      const host = new BrowserHost({
        chromePath,
        noSandbox: NO_SANDBOX,
        logger,
        maxBrowserRssMb: 1,
        checkEveryMs: 100,
      });
      await host.start();
      try {
        await host.openSession({ agentId: 'heavy', egress: LOOPBACK });
        await eventually(() => host.stats().recycles >= 1, 'a memory recycle');
      } finally {
        await host.shutdown();
      }
    });
  });
}
