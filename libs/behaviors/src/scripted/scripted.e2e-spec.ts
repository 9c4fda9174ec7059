import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
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

describeWithChromium('scripted (real Chromium)', (executablePath) => {
  let chromium: TestChromium;
  let site: FixtureServer;
  const submitted: { user: string | null; password: string | null }[] = [];

  beforeAll(async () => {
    chromium = await TestChromium.launch(executablePath);
    site = await startFixtureServer(async (req, res) => {
      if (req.url === '/form') return sendHtml(res, FORM);
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
    const ms = performance.now() - started;
    expect(activities.length).toBe(3);
    for (const activity of activities) {
      expect(activity.kind).toBe('script.run');
      expect(activity.details?.extracted).toEqual({ button: 'Sign in' });
    }
    // Three runs, one second apart, and no fourth once stopped.
    assert.ok(ms >= 1_900 && ms < 4_000, `took ${ms} ms`);
  });

  for (const [what, step] of [
    ['a sleep step', { action: 'sleep', ms: 600_000 }],
    ['a waitFor', { action: 'waitFor', selector: '#never', timeoutMs: 120_000 }],
  ] as const) {
    it(`stops within a second in the middle of ${what}`, async () => {
      const browser = await chromium.agentBrowser();
      try {
        const config = ScriptedConfig.parse({ steps: [{ action: 'goto', url: `${site.base}/form` }, step] });
        const run = testRun(config, { browser });
        const running = scripted.run(run.context);
        await new Promise((resolve) => setTimeout(resolve, 800));
        const stopped = performance.now();
        run.controller.abort();
        await running;
        const ms = performance.now() - stopped;
        assert.ok(ms < 1_000, `took ${ms} ms after the stop`);
        expect(run.activities).toEqual([]);
      } finally {
        await browser.close();
      }
    });
  }
});
