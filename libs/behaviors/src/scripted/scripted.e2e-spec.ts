import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import type { Activity } from '@drover/contracts';
import { testRun } from '../testing/behavior-context';
import { escapeHtml, sendHtml, startFixtureServer, type FixtureServer } from '../testing/fixture-server';
import { describeWithChromium, PNG_SIGNATURE, TestChromium, type TestAgentBrowser } from '../testing/test-browser';
import { scripted } from './scripted.behavior';
import { ScriptedConfig } from './scripted.schema';

const SECRET = 'hunter2-Sup3rSecret';

const FORM = `<!doctype html><title>Sign in</title>
<form action="/result" method="post">
  <input id="user" name="user"><input id="password" name="password" type="password">
  <button id="submit" type="submit">Sign in</button>
</form>`;

/** A page that tells the fixture server once its DOM has loaded, i.e. once a `goto` to it is done. */
const STEADY = `<!doctype html><title>Steady</title><p>steady</p>
<script>document.addEventListener('DOMContentLoaded', () => fetch('/dom-ready'));</script>`;

describeWithChromium('scripted (real Chromium)', (executablePath) => {
  let chromium: TestChromium;
  let site: FixtureServer;
  const submitted: { user: string | null; password: string | null }[] = [];

  beforeAll(async () => {
    chromium = await TestChromium.launch(executablePath);
    site = await startFixtureServer(async (req, res) => {
      if (req.url === '/form') return sendHtml(res, FORM);
      if (req.url === '/steady') return sendHtml(res, STEADY);
      if (req.url === '/dom-ready') return void res.writeHead(204).end();
      if (req.url === '/result' && req.method === 'POST') {
        let body = '';
        for await (const chunk of req) body += String(chunk);
        const form = new URLSearchParams(body);
        const user = form.get('user');
        const password = form.get('password');
        submitted.push({ user, password });
        // Echoes the password so the test can check that extracted texts are redacted too.
        return sendHtml(
          res,
          `<!doctype html><title>Welcome</title><div id="result">Welcome, ${escapeHtml(user ?? '')}</div>` +
            `<p id="echo">token:${escapeHtml(password ?? '')}</p>`,
        );
      }
      sendHtml(res, '<!doctype html><title>Not found</title>', 404);
    });
  });
  afterAll(async () => {
    await site?.close();
    await chromium?.close();
  });

  /** Runs a script in a fresh browser context; `onReport` may stop it. */
  async function script(
    config: Record<string, unknown>,
    onReport?: (activity: Activity, index: number, controller: AbortController) => void,
    inspect?: (browser: TestAgentBrowser) => Promise<void>,
  ): Promise<Activity[]> {
    const browser = await chromium.agentBrowser();
    try {
      const run = testRun(ScriptedConfig.parse(config), { browser }, onReport);
      await scripted.run(run.context);
      await inspect?.(browser);
      return run.activities;
    } finally {
      await browser.close();
    }
  }

  it('fills and submits a form, waits for the result and extracts it, without leaking the secret', async () => {
    let shot: Buffer | undefined;
    const activities = await script(
      {
        steps: [
          { action: 'goto', url: `${site.base}/form` },
          { action: 'type', selector: '#user', text: 'alice' },
          { action: 'type', selector: '#password', text: SECRET, secret: true },
          { action: 'click', selector: '#submit' },
          { action: 'waitFor', selector: '#result', timeoutMs: 5_000 },
          { action: 'extract', selector: '#result', name: 'welcome' },
          { action: 'extract', selector: '#echo', name: 'token' },
          { action: 'screenshot', label: 'signed-in' },
        ],
      },
      undefined,
      async (browser) => {
        expect(browser.screenshots.length).toBe(1);
        shot = await readFile(browser.pathOf(browser.screenshots[0]!));
      },
    );
    expect(submitted.at(-1)).toEqual({ user: 'alice', password: SECRET });
    expect(activities.length).toBe(1);
    const [run] = activities;
    expect(run?.kind).toBe('script.run');
    expect(run?.ok).toBe(true);
    expect(run?.details?.steps).toBe(8);
    expect(run?.details?.extracted).toEqual({ welcome: 'Welcome, alice', token: 'token:***' });
    expect(typeof run?.details?.ms).toBe('number');
    expect((run?.details?.screenshots as string[]).length).toBe(1);
    expect(shot?.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(JSON.stringify(activities).includes(SECRET)).toBe(false);
  });

  it('reports the failing step with its index and action, and ends the run there', async () => {
    const activities = await script({
      steps: [
        { action: 'goto', url: `${site.base}/form` },
        { action: 'type', selector: '#password', text: SECRET, secret: true },
        { action: 'waitFor', selector: '#nowhere', timeoutMs: 300 },
        { action: 'click', selector: '#submit' },
      ],
    });
    expect(activities.length).toBe(1);
    const [failed] = activities;
    expect(failed?.kind).toBe('script.step');
    expect(failed?.ok).toBe(false);
    expect(failed?.details).toEqual({ step: 2, action: 'waitFor' });
    expect(failed?.message ?? '').toMatch(/no element matches "#nowhere" after 300 ms/);
    expect(JSON.stringify(activities).includes(SECRET)).toBe(false);
  });

  it('fails a goto that answers an HTTP error', async () => {
    const [failed] = await script({ steps: [{ action: 'goto', url: `${site.base}/missing` }] });
    expect(failed?.ok).toBe(false);
    expect(failed?.details).toEqual({ step: 0, action: 'goto' });
    expect(failed?.message ?? '').toMatch(/HTTP 404/);
  });

  it('repeats every repeatEveryMs until stopped', async () => {
    const before = site.requests.length;
    const started = performance.now();
    const activities = await script(
      {
        steps: [
          { action: 'goto', url: `${site.base}/form` },
          { action: 'extract', selector: '#submit', name: 'button' },
        ],
        repeatEveryMs: 1_000,
      },
      (_activity, index, controller) => {
        if (index === 2) controller.abort();
      },
    );
    console.info(`scripted: three runs with repeatEveryMs 1000 took ${Math.round(performance.now() - started)} ms`);
    expect(activities.length).toBe(3);
    for (const activity of activities) {
      expect(activity.kind).toBe('script.run');
      expect(activity.details?.extracted).toEqual({ button: 'Sign in' });
    }
    // One page load per run, and no fourth run once stopped (the behaviour has returned).
    expect(site.requests.slice(before)).toEqual(['GET /form', 'GET /form', 'GET /form']);
  });

  for (const [what, step] of [
    ['a sleep step', { action: 'sleep', ms: 600_000 }],
    ['a waitFor', { action: 'waitFor', selector: '#never', timeoutMs: 120_000 }],
  ] as const) {
    it(`stops in the middle of ${what} without reporting anything`, async () => {
      const browser = await chromium.agentBrowser();
      try {
        const config = ScriptedConfig.parse({ steps: [{ action: 'goto', url: `${site.base}/steady` }, step] });
        const run = testRun(config, { browser });
        const sleeps: number[] = [];
        let sleeping: (ms: number) => void = () => undefined;
        const asleep = new Promise<number>((resolve) => (sleeping = resolve));
        const context = {
          ...run.context,
          sleep: (ms: number) => {
            sleeps.push(ms);
            sleeping(ms);
            return run.context.sleep(ms);
          },
        };
        const before = site.requests.length;
        const domReady = site.nextRequest('GET /dom-ready');
        const running = scripted.run(context);
        // The goto step is done once the page's DOM has loaded; the sleep step is observable itself.
        await domReady;
        if (step.action === 'sleep') expect(await asleep).toBe(600_000);
        const stopped = performance.now();
        run.controller.abort();
        await running;
        console.info(`scripted: returned ${(performance.now() - stopped).toFixed(1)} ms after the stop in ${what}`);
        expect(run.activities).toEqual([]);
        expect(site.requests.slice(before)).toEqual(['GET /steady', 'GET /dom-ready']);
        expect(sleeps).toEqual(step.action === 'sleep' ? [600_000] : []);
      } finally {
        await browser.close();
      }
    });
  }
});
