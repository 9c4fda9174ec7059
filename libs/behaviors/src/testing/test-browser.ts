import { CHROMIUM_ARGS, headlessModeFor, resolveChromePath, sandboxArgs } from '@drover/browser';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from '@jest/globals';
import { reportMissing } from '@drover/testing';
import puppeteer, { type Browser, type BrowserContext, type Cookie, type Page } from 'puppeteer';
import type { AgentBrowser } from '../browser.port';

/**
 * Chromium flags for tests: production's, and no sandbox when the test run opted out
 * (`CHROME_NO_SANDBOX`, set by jest's global setup when the tests run as root).
 */
export const TEST_CHROMIUM_ARGS = [...CHROMIUM_ARGS, ...sandboxArgs(process.env.CHROME_NO_SANDBOX === 'true')];

/** CHROME_PATH, else the lightest installed Chromium, as in production. */
export function chromiumPath(): string {
  return resolveChromePath();
}

/**
 * `describe` for tests that need a real Chromium. Without one the suite is one skipped test that
 * says why, except on CI (`CI=true`) where a missing browser fails the run.
 */
export function describeWithChromium(name: string, body: (executablePath: string) => void): void {
  const executablePath = chromiumPath();
  if (existsSync(executablePath)) {
    describe(name, () => body(executablePath));
    return;
  }
  describe(name, () => reportMissing(`Chromium not found at ${executablePath}: browser behaviour tests not run`));
}

/** A Chromium for tests, with a throwaway profile. */
export class TestChromium {
  private constructor(
    readonly browser: Browser,
    private readonly userDataDir: string,
  ) {}

  static async launch(executablePath = chromiumPath()): Promise<TestChromium> {
    const userDataDir = await mkdtemp(join(tmpdir(), 'drover-test-chromium-'));
    try {
      const browser = await puppeteer.launch({
        executablePath,
        headless: headlessModeFor(executablePath),
        userDataDir,
        args: [...TEST_CHROMIUM_ARGS],
      });
      return new TestChromium(browser, userDataDir);
    } catch (error) {
      await rm(userDataDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** An AgentBrowser over one page in a fresh browser context, with the given cookies restored. */
  async agentBrowser(cookies: Cookie[] = []): Promise<TestAgentBrowser> {
    const context = await this.browser.createBrowserContext();
    if (cookies.length > 0) await context.setCookie(...cookies);
    const screenshotDir = await mkdtemp(join(tmpdir(), 'drover-test-shots-'));
    return new TestAgentBrowser(context, screenshotDir);
  }

  async close(): Promise<void> {
    try {
      await this.browser.close();
    } finally {
      await rm(this.userDataDir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
    }
  }
}

/** The AgentBrowser a host would lend, for tests: screenshots go to a temp dir. */
export class TestAgentBrowser implements AgentBrowser {
  /** File names returned by screenshot(), in order. */
  readonly screenshots: string[] = [];
  /** The context's cookies at each saveCookies() call, in order. */
  readonly savedCookies: Cookie[][] = [];
  private current?: Page;

  constructor(
    readonly context: BrowserContext,
    readonly screenshotDir: string,
  ) {}

  async page(): Promise<Page> {
    if (!this.current || this.current.isClosed()) this.current = await this.context.newPage();
    return this.current;
  }

  async screenshot(label = 'page'): Promise<string> {
    const page = await this.page();
    const data = await page.screenshot({ type: 'png' });
    const name = `${String(this.screenshots.length + 1).padStart(4, '0')}-${label.replace(/[^\w-]/g, '_')}.png`;
    await writeFile(join(this.screenshotDir, name), data);
    this.screenshots.push(name);
    return name;
  }

  async saveCookies(): Promise<void> {
    this.savedCookies.push(await this.context.cookies());
  }

  /** Full path of a file name returned by screenshot(). */
  pathOf(name: string): string {
    return join(this.screenshotDir, name);
  }

  async close(): Promise<void> {
    try {
      await this.context.close();
    } finally {
      await rm(this.screenshotDir, { recursive: true, force: true });
    }
  }
}

/** The 8 bytes every PNG file starts with. */
export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
