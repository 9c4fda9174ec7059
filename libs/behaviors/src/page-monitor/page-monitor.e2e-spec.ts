import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Activity } from '@drover/contracts';
import { MemoryAgentStorage } from '../storage.port';
import { testRun, timed } from '../testing/behavior-context';
import { escapeHtml, sendHtml, startFixtureServer, type FixtureServer } from '../testing/fixture-server';
import { describeWithChromium, PNG_SIGNATURE, TestChromium } from '../testing/test-browser';
import { PAGE_MONITOR_STORAGE_KEY, pageMonitor } from './page-monitor.behavior';
import { PageMonitorConfig } from './page-monitor.schema';

describeWithChromium('page-monitor (real Chromium)', (executablePath) => {
  let chromium: TestChromium;
  let site: FixtureServer;
  let price = '10 EUR';

  beforeAll(async () => {
    chromium = await TestChromium.launch(executablePath);
    site = await startFixtureServer((req, res) => {
      if (req.url === '/watch') {
        sendHtml(
          res,
          `<!doctype html><title>Watched shop</title><h1 id="price">  ${escapeHtml(price)}  </h1><p>In stock</p>`,
        );
      } else if (req.url === '/long') {
        sendHtml(res, `<!doctype html><title>Long</title><div id="text">${'x'.repeat(2_000)}</div>`);
      } else if (req.url === '/slow') {
        // Never answers: the navigation stays in flight until the test stops the behaviour.
      } else {
        sendHtml(res, '<!doctype html><title>Not found</title><p>nothing here</p>', 404);
      }
    });
  });
  afterAll(async () => {
    await site?.close();
    await chromium?.close();
  });

  async function monitor(
    config: Record<string, unknown>,
    onReport: (activity: Activity, index: number, controller: AbortController) => void | Promise<void>,
    storage?: MemoryAgentStorage,
  ): Promise<{ activities: Activity[]; ms: number }> {
    const browser = await chromium.agentBrowser();
    try {
      const run = testRun(PageMonitorConfig.parse(config), { browser, storage }, onReport);
      const ms = await timed(pageMonitor.run(run.context));
      return { activities: run.activities, ms };
    } finally {
      await browser.close();
    }
  }

  it('reports changed=false first, changed=true after the text changes, and screenshots only on change', async () => {
    price = '10 EUR';
    const browser = await chromium.agentBrowser();
    try {
      const run = testRun(
        PageMonitorConfig.parse({
          url: `${site.base}/watch`,
          selector: '#price',
          intervalMs: 500,
          screenshot: 'on-change',
        }),
        { browser },
        (_activity, index, controller) => {
          if (index === 0) price = '12 EUR';
          if (index === 2) controller.abort();
        },
      );
      await pageMonitor.run(run.context);
      const [first, second, third] = run.activities;
      expect(run.activities.length).toBe(3);
      for (const activity of run.activities) {
        expect(activity.kind).toBe('page.check');
        expect(activity.ok).toBe(true);
        expect(activity.details?.status).toBe(200);
        expect(activity.details?.title).toBe('Watched shop');
        expect(typeof activity.details?.ms).toBe('number');
      }
      expect(first?.details?.text).toBe('10 EUR');
      expect(first?.details?.changed).toBe(false);
      expect(first?.details?.screenshot).toBe(undefined);
      expect(second?.details?.text).toBe('12 EUR');
      expect(second?.details?.changed).toBe(true);
      expect(third?.details?.changed).toBe(false);
      expect(third?.details?.screenshot).toBe(undefined);

      expect(browser.screenshots).toEqual([second?.details?.screenshot]);
      const png = await readFile(browser.pathOf(browser.screenshots[0]!));
      expect(png.length > PNG_SIGNATURE.length).toBeTruthy();
      expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    } finally {
      await browser.close();
    }
  });

  it('watches the whole page text without a selector, truncated to 500 characters', async () => {
    price = '10 EUR';
    const whole = await monitor({ url: `${site.base}/watch`, intervalMs: 500 }, (_a, _i, c) => c.abort());
    expect(whole.activities[0]?.ok).toBe(true);
    expect(String(whole.activities[0]?.details?.text)).toMatch(/10 EUR\s+In stock/);
    const long = await monitor({ url: `${site.base}/long`, selector: '#text', intervalMs: 500 }, (_a, _i, c) =>
      c.abort(),
    );
    expect(long.activities[0]?.details?.text).toBe('x'.repeat(500));
  });

  it('is not ok on a 404, nor when the selector matches nothing', async () => {
    const missingPage = await monitor({ url: `${site.base}/nope`, intervalMs: 500 }, (_a, _i, c) => c.abort());
    expect(missingPage.activities[0]?.ok).toBe(false);
    expect(missingPage.activities[0]?.details?.status).toBe(404);
    expect(missingPage.activities[0]?.message).toBe('HTTP 404');

    const missingElement = await monitor(
      { url: `${site.base}/watch`, selector: '#gone', intervalMs: 500 },
      (_a, _i, c) => c.abort(),
    );
    const [check] = missingElement.activities;
    expect(check?.ok).toBe(false);
    expect(check?.details?.status).toBe(200);
    expect(check?.details?.text).toBe(null);
    expect(check?.message ?? '').toMatch(/selector "#gone" not found/);
  });

  it('records a navigation error as a failed check with the reason, and keeps going', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { activities } = await monitor({ url: `http://127.0.0.1:${port}/`, intervalMs: 500 }, (_a, index, c) => {
      if (index === 1) c.abort();
    });
    expect(activities.length).toBe(2);
    for (const activity of activities) {
      expect(activity.ok).toBe(false);
      expect(activity.message ?? '').toMatch(/ERR_CONNECTION_REFUSED/);
    }
  });

  it('reports a navigation timeout as a failed check', async () => {
    const { activities } = await monitor({ url: `${site.base}/slow`, intervalMs: 500, timeoutMs: 300 }, (_a, _i, c) =>
      c.abort(),
    );
    expect(activities[0]?.ok).toBe(false);
    expect(activities[0]?.message).toBe('timed out after 300 ms');
  });

  it('keeps the last text across restarts through the agent storage', async () => {
    const storage = new MemoryAgentStorage();
    const config = { url: `${site.base}/watch`, selector: '#price', intervalMs: 500 };
    price = 'A';
    const first = await monitor(config, (_a, _i, c) => c.abort(), storage);
    expect(first.activities[0]?.details?.changed).toBe(false);
    expect(await storage.get(PAGE_MONITOR_STORAGE_KEY)).toEqual({ url: config.url, selector: '#price', text: 'A' });

    price = 'B';
    const restarted = await monitor(config, (_a, _i, c) => c.abort(), storage);
    expect(restarted.activities[0]?.details?.changed).toBe(true);

    // Another selector (or URL) starts afresh.
    const other = await monitor({ ...config, selector: 'h1' }, (_a, _i, c) => c.abort(), storage);
    expect(other.activities[0]?.details?.changed).toBe(false);
  });

  it('returns when stopped in the middle of a long interval, after one check', async () => {
    const browser = await chromium.agentBrowser();
    try {
      const run = testRun(PageMonitorConfig.parse({ url: `${site.base}/watch`, intervalMs: 3_600_000 }), { browser });
      const sleeps: number[] = [];
      let sleeping: () => void = () => undefined;
      const asleep = new Promise<void>((resolve) => (sleeping = resolve));
      const context = {
        ...run.context,
        sleep: (ms: number) => {
          sleeps.push(ms);
          const slept = run.context.sleep(ms);
          sleeping();
          return slept;
        },
      };
      const before = site.requests.length;
      const running = pageMonitor.run(context);
      await asleep; // the behaviour has started its hour-long interval
      const stopped = performance.now();
      run.controller.abort();
      await running;
      console.info(
        `page-monitor: returned ${(performance.now() - stopped).toFixed(1)} ms after the stop in its interval`,
      );
      expect(run.activities.map((a) => [a.kind, a.ok])).toEqual([['page.check', true]]);
      expect(sleeps).toEqual([3_600_000]);
      expect(site.requests.slice(before)).toEqual(['GET /watch']);
    } finally {
      await browser.close();
    }
  });

  it('returns when stopped while a navigation is in flight, without reporting it', async () => {
    const browser = await chromium.agentBrowser();
    try {
      const run = testRun(PageMonitorConfig.parse({ url: `${site.base}/slow`, intervalMs: 500 }), { browser });
      const before = site.requests.length;
      const requested = site.nextRequest('GET /slow');
      const running = pageMonitor.run(run.context);
      await requested; // the navigation reached the site, which never answers
      const stopped = performance.now();
      run.controller.abort();
      await running;
      console.info(
        `page-monitor: returned ${(performance.now() - stopped).toFixed(1)} ms after the stop mid-navigation`,
      );
      expect(run.activities).toEqual([]);
      expect(site.requests.slice(before)).toEqual(['GET /slow']);
    } finally {
      await browser.close();
    }
  });
});
