import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'puppeteer';
import { Exchanges } from '@drover/contracts';
import { silentLogger } from '@drover/runtime';
import { describeWithChromium, TestChromium } from '../../../libs/behaviors/src/testing/test-browser';
import { startStandalone, type RunningSystem } from '../src/standalone-system';
import { http, standaloneConfig, writeFastProfile } from './standalone-process';

const API_KEY = 'console-e2e-key-'.padEnd(40, 'x');
/** Set to a directory (e.g. `docs/images`) to save screenshots of the console for the docs. */
const SHOTS = process.env.DROVER_CONSOLE_SCREENSHOTS;
const WAIT = { timeout: 60_000 };
type Visible = { innerText: string };
type Editable = { value: string };

/**
 * The web console end to end: the standalone system with an API key, a page for its agent on
 * 127.0.0.1, and the console driven in Chromium as an operator would use it.
 */
describeWithChromium('the web console, driven in Chromium', (executablePath) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-console-'));
  const profilesDir = writeFastProfile();
  let site: Server;
  let siteUrl: string;
  let system: RunningSystem;
  let chromium: TestChromium;
  let page: Page;
  /** What the page reported as errors (CSP violations, failed scripts); 401/404 answers excepted. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    site = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<title>watched</title><h1 style="font:48px sans-serif">Watched page ${new Date().toISOString()}</h1>`);
    });
    await new Promise<void>((done) => site.listen(0, '127.0.0.1', done));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    const config = standaloneConfig(dataDir, profilesDir, {
      DROVER_API_KEYS: API_KEY,
      ...(process.env.CHROME_NO_SANDBOX ? { CHROME_NO_SANDBOX: process.env.CHROME_NO_SANDBOX } : {}),
    });
    system = await startStandalone(config, silentLogger());
    chromium = await TestChromium.launch(executablePath);
    page = await chromium.browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${(error as Error).message}`));
    page.on('console', (message) => {
      const text = message.text();
      if (message.type() === 'error' && !/status of (401|404)/.test(text)) pageErrors.push(text);
    });
    if (SHOTS) mkdirSync(resolve(SHOTS), { recursive: true });
  });
  afterAll(async () => {
    await chromium?.close();
    await system?.stop();
    await new Promise<void>((done) => site?.close(() => done()));
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });

  const shot = async (name: string) => {
    if (SHOTS) await page.screenshot({ path: join(resolve(SHOTS), `console-${name}.png`) });
  };
  // In-page code is given as strings: this file is compiled without the DOM's types.
  const text = (selector: string) => page.$eval(selector, (element) => (element as unknown as Visible).innerText);
  const go = (hash: string) => page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  const clear = (selector: string) => page.$eval(selector, (input) => void ((input as unknown as Editable).value = ''));

  it('shows the login form without a key, and the 401 message for a wrong key', async () => {
    await page.goto(`${system.url}/console`);
    await page.waitForSelector('#api-key', WAIT);
    expect(await page.$('table.fleet')).toBeNull();
    await shot('login');

    await page.type('#api-key', 'not-the-key');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#login-error', WAIT);
    expect(await text('#login-error')).toContain('The API key was refused: the API key is not valid (401)');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('keeps the right key for the session and shows the fleet', async () => {
    await clear('#api-key');
    await page.type('#api-key', API_KEY);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('table.fleet', WAIT);
    // A reload keeps the key (session storage): no second login.
    await page.reload();
    await page.waitForSelector('table.fleet', WAIT);
    expect(await page.$('#api-key')).toBeNull();
  });

  it('starts an agent from the form and sees it become running on its timeline, without a reload', async () => {
    await page.click('a[href="#/start"]');
    await page.waitForFunction(
      `[...document.querySelectorAll('#start-behavior option')].some((o) => o.value === 'page-monitor')`,
      WAIT,
    );
    await page.select('#start-behavior', 'page-monitor');
    await page.type('#start-agent-id', 'console-1');
    await clear('#start-config');
    await page.type('#start-config', JSON.stringify({ url: siteUrl, intervalMs: 500, screenshot: 'always' }));
    await page.type('#start-labels', 'team=growth');
    await shot('start');
    // A mark on this document: a reload would drop it.
    await page.evaluate('window.consoleTestMark = true');
    await page.click('#start-form button[type=submit]');

    await page.waitForFunction(`location.hash === '#/agents/console-1'`, WAIT);
    await page.waitForSelector('#timeline li[data-type="agent.started"][data-status="running"]', WAIT);
    expect(await text('h1')).toContain('running');
    // The agent's facts follow too: where it runs, since when.
    await page.waitForFunction(
      `document.querySelector('[data-fact="instanceId"]').textContent.startsWith('vm-')`,
      WAIT,
    );
    expect(await page.$('[data-fact="startedAt"] time')).not.toBeNull();
    // Still the same document: the timeline was filled by the stream, not by a reload.
    expect(await page.evaluate('window.consoleTestMark')).toBe(true);
  });

  it("opens the agent's latest screenshot", async () => {
    // The first screenshot follows the agent's first check; ask again until there is one.
    const deadline = Date.now() + 60_000;
    let width = 0;
    while (width === 0 && Date.now() < deadline) {
      await page.click('#open-screenshot');
      width = await page
        .waitForFunction(
          `(() => {
            const image = document.querySelector('#latest-screenshot');
            return image?.complete && image.naturalWidth > 0 ? image.naturalWidth : false;
          })()`,
          { timeout: 2_000 },
        )
        .then((handle) => handle.jsonValue() as Promise<number>)
        .catch(() => 0);
    }
    expect(width).toBeGreaterThan(0);
    await page.waitForSelector('#timeline li.entry-activity', WAIT);
    await shot('agent');
  });

  it('pauses and resumes the agent from its page, each step on the timeline', async () => {
    await page.click('.agent .actions button[data-action="pause"]');
    await page.waitForSelector('#timeline li[data-type="agent.paused"][data-status="paused"]', WAIT);
    await page.waitForSelector('.agent .actions button[data-action="resume"]', WAIT);
    await page.click('.agent .actions button[data-action="resume"]');
    await page.waitForSelector('#timeline li[data-type="agent.resumed"][data-status="running"]', WAIT);
  });

  it('stops the agent, and the timeline shows it stopped', async () => {
    await page.click('.agent .actions button[data-action="stop"]');
    await page.waitForSelector('#timeline li[data-status="stopped"]', WAIT);
    await page.waitForFunction(`document.querySelector('h1')?.textContent?.includes('stopped')`, WAIT);
  });

  it('lists the fleet filtered by status and label, and stops the agents a label selects', async () => {
    for (const [agentId, team] of [
      ['mon-growth', 'growth'],
      ['mon-ops', 'ops'],
    ] as const) {
      const started = await http(`${system.url}/api/agents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}` },
        body: { agentId, behavior: 'http-monitor', config: { url: siteUrl, intervalMs: 1_000 }, labels: { team } },
      });
      expect([agentId, started.status]).toEqual([agentId, 202]);
    }
    await page.click('a[href="#/agents"]');
    const row = (agentId: string) => `tr[data-agent-id="${agentId}"]`;
    const gone = (agentId: string) => page.waitForFunction(`!document.querySelector('${row(agentId)}')`, WAIT);
    for (const agentId of ['console-1', 'mon-growth', 'mon-ops']) await page.waitForSelector(row(agentId), WAIT);
    expect(await text(`${row('console-1')} td.labels`)).toBe('team=growth');

    await page.select('#filter-status', 'stopped');
    await gone('mon-growth');
    await page.waitForSelector(row('console-1'), WAIT);
    await page.select('#filter-status', '');
    await page.waitForSelector(row('mon-growth'), WAIT);

    await page.type('#filter-label', 'team=ops');
    await page.keyboard.press('Tab');
    await gone('console-1');
    await gone('mon-growth');
    await page.waitForSelector(row('mon-ops'), WAIT);
    await page.select('.bulk select', 'stop');
    await page.click('.bulk button');
    await page.waitForFunction(`document.querySelector('.bulk button').textContent.includes('Confirm')`, WAIT);
    await page.click('.bulk button');
    await page.waitForFunction(`document.querySelector('.bulk').textContent.includes('stop: 1 matched, 1 done')`, WAIT);
    // The table follows the stream: the stopped agent's row changes without a reload.
    await page.waitForSelector(`${row('mon-ops')} .status-stopped`, WAIT);

    await clear('#filter-label');
    await page.type('#filter-label', ' ');
    await page.keyboard.press('Tab');
    for (const agentId of ['console-1', 'mon-growth', 'mon-ops']) await page.waitForSelector(row(agentId), WAIT);
    await page.waitForSelector(`${row('mon-growth')} .status-running`, WAIT);
    await shot('fleet');
  });

  it('replays a dead letter and shows the message id of the replay', async () => {
    // A command the engine cannot read: dead-lettered with the reason.
    await system.bus.publish(Exchanges.commands, 'agent.start', { type: 'agent.start', agentId: 'console-dead' });
    await go('#/dead-letters');
    const row = 'tr[data-dead-letter-id]';
    // The page lists what was dead-lettered when it loaded: refresh until the letter is there.
    const deadline = Date.now() + 60_000;
    while (!(await page.$(row)) && Date.now() < deadline) {
      await page.click('#dead-letters .filters button');
      await page.waitForSelector(row, { timeout: 1_000 }).catch(() => undefined);
    }
    await page.click(`${row} button[data-action="replay"]`);
    await page.waitForSelector('#dead-letters .notice', WAIT);
    const notice = await text('#dead-letters .notice');
    expect(notice).toMatch(/as message \S+/);
    await shot('dead-letters');
  });

  it('shows the load of the fleet', async () => {
    await go('#/load');
    await page.waitForSelector('#load .cards', WAIT);
    expect(Number(await text('#dead-letter-total'))).toBeGreaterThanOrEqual(1);
    await shot('load');
  });

  it('ran without a script error or a Content-Security-Policy violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
