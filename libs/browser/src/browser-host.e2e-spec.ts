import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as ProxyServer } from 'proxy-chain';
import pino from 'pino';
import { BrowserHost, resolveChromePath, type BrowserSession, type CookieData } from './index';
import { processTree } from './process-tree';

const chromePath = resolveChromePath();
const TEST = { timeout: 60_000 };

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
  if (process.env.CI === 'true') {
    it('Chromium is installed', () => assert.fail(`Chromium not found at ${chromePath} (set CHROME_PATH)`));
  } else {
    void it.skip(`Chromium not found at ${chromePath}: browser tests not run`, () => undefined);
  }
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

    before(async () => {
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
        logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
        proxyBypassList: ['<-loopback>'],
        snapshotEveryMs: 500,
        onRebuilt: (agentId, reason) => rebuilt.push(`${agentId}:${reason}`),
        onProxyError: (agentId, failure) => proxyErrors.push({ agentId, ...failure }),
      });
      await host.start();
      remember();
    });

    after(async () => {
      await host?.shutdown();
      await proxyA.close(true);
      await proxyB.close(true);
      await new Promise((resolve) => app?.close(resolve));
    });

    it('routes each session through its own upstream with its own credentials', TEST, async () => {
      a = await host.openSession({ agentId: 'agent-a', proxy: `http://userA:secretA@127.0.0.1:${proxyA.port}` });
      b = await host.openSession({ agentId: 'agent-b', proxy: `http://userB:secretB@127.0.0.1:${proxyB.port}` });
      await visit(a, `${appUrl}/login?name=alice`);
      await visit(b, `${appUrl}/login?name=bob`);
      assert.match(await visit(a, `${appUrl}/`), /sid=alice/);
      assert.match(await visit(b, `${appUrl}/`), /sid=bob/);

      assert.ok(hitsA.some((hit) => hit === `userA ${appUrl}/login?name=alice`));
      assert.ok(hitsB.some((hit) => hit === `userB ${appUrl}/login?name=bob`));
      assert.ok(
        hitsA.every((hit) => hit.startsWith('userA ') && !hit.includes('bob')),
        hitsA.join('\n'),
      );
      assert.ok(
        hitsB.every((hit) => hit.startsWith('userB ') && !hit.includes('alice')),
        hitsB.join('\n'),
      );
      assert.equal(host.stats().sessions, 2);
    });

    it('returns cookies on close and restores them in a new session', TEST, async () => {
      assert.equal(sid(await a.cookies()), 'alice');
      const final = await a.close();
      assert.equal(sid(final), 'alice');
      assert.equal(host.stats().sessions, 1);
      a = await host.openSession({
        agentId: 'agent-a',
        proxy: `http://userA:secretA@127.0.0.1:${proxyA.port}`,
        cookies: final,
      });
      assert.match(await visit(a, `${appUrl}/`), /sid=alice/);
    });

    it('reports upstream proxy failures without the credentials', TEST, async () => {
      const bad = await host.openSession({
        agentId: 'agent-bad',
        proxy: `http://userA:wrong-Pa55word@127.0.0.1:${proxyA.port}`,
      });
      const page = await bad.page();
      await page.goto(`${appUrl}/`, { timeout: 20_000 }).catch(() => undefined);
      const failure = await eventually(() => proxyErrors.find((e) => e.agentId === 'agent-bad'), 'onProxyError');
      assert.ok(failure.errorClass.length > 0);
      assert.ok(!failure.message.includes('wrong-Pa55word'), failure.message);
      assert.ok(!JSON.stringify(proxyErrors).includes('wrong-Pa55word'));
      assert.ok(!hitsA.some((hit) => hit.includes('wrong')));
      await bad.close();
    });

    it('recycle moves the sessions to a new browser with their cookies', TEST, async () => {
      const oldPid = remember();
      rebuilt.length = 0;
      await host.recycle('test');
      const newPid = remember();
      assert.notEqual(newPid, oldPid);
      assert.deepEqual([...rebuilt].sort(), ['agent-a:recycle', 'agent-b:recycle']);
      assert.equal(host.stats().recycles, 1);
      await eventually(() => procGone(oldPid), `old browser ${oldPid} gone`);
      assert.match(await visit(a, `${appUrl}/`), /sid=alice/);
      assert.match(await visit(b, `${appUrl}/`), /sid=bob/);
      const before = hitsB.length;
      await visit(b, `${appUrl}/login?name=bob2`);
      assert.ok(hitsB.slice(before).some((hit) => hit === `userB ${appUrl}/login?name=bob2`));
    });

    it('rebuilds every session from its cookie snapshot after a crash', TEST, async () => {
      const pid = remember();
      assert.equal(sid(await b.cookies()), 'bob2'); // refreshes the snapshot the rebuild uses
      rebuilt.length = 0;
      process.kill(pid, 'SIGKILL');
      await eventually(() => rebuilt.length === 2, 'onRebuilt for both sessions');
      assert.deepEqual([...rebuilt].sort(), ['agent-a:crash', 'agent-b:crash']);
      assert.equal(host.stats().crashes, 1);
      assert.notEqual(host.stats().browserPid, pid);
      remember();
      assert.match(await visit(a, `${appUrl}/`), /sid=alice/);
      assert.match(await visit(b, `${appUrl}/`), /sid=bob2/);
      await eventually(() => procGone(pid), `crashed browser ${pid} gone`);
    });

    it('shutdown leaves no chromium process and no profile dir behind', TEST, async () => {
      remember();
      await host.shutdown();
      assert.equal(host.stats().sessions, 0);
      assert.equal(host.stats().browserPid, undefined);
      await eventually(() => [...processes].every(procGone), 'every chromium process gone', 10_000).catch(() => {
        const left = [...processes].filter((pid) => !procGone(pid));
        assert.fail(`chromium processes left: ${left.join(', ')} (of browsers ${[...browserPids].join(', ')})`);
      });
      for (const dir of profiles) assert.ok(!existsSync(dir), `${dir} removed`);
      assert.ok(profiles.size >= 3);
      await assert.rejects(host.openSession({ agentId: 'late' }), /shutting down/);
    });
  });

  describe('BrowserHost recycling limits', () => {
    const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

    it('recycles before opening a context past maxContextsPerBrowser', TEST, async () => {
      const rebuilt: string[] = [];
      const host = new BrowserHost({
        chromePath,
        logger,
        maxContextsPerBrowser: 2,
        onRebuilt: (agentId, reason) => rebuilt.push(`${agentId}:${reason}`),
      });
      await host.start();
      try {
        const first = host.stats().browserPid;
        await host.openSession({ agentId: 's1' });
        await host.openSession({ agentId: 's2' });
        assert.equal(host.stats().recycles, 0);
        const s3 = await host.openSession({ agentId: 's3' });
        assert.equal(host.stats().recycles, 1);
        assert.notEqual(host.stats().browserPid, first);
        assert.deepEqual(rebuilt.sort(), ['s1:recycle', 's2:recycle']);
        assert.equal(host.stats().contextsOnBrowser, 3);
        assert.ok(!(await s3.page()).isClosed());
      } finally {
        await host.shutdown();
      }
    });

    it('recycles when the process tree passes maxBrowserRssMb', TEST, async () => {
      const host = new BrowserHost({ chromePath, logger, maxBrowserRssMb: 1, checkEveryMs: 100 });
      await host.start();
      try {
        await host.openSession({ agentId: 'heavy' });
        await eventually(() => host.stats().recycles >= 1, 'a memory recycle');
      } finally {
        await host.shutdown();
      }
    });
  });
}
