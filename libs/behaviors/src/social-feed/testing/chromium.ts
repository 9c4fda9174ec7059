import { CHROMIUM_ARGS, headlessModeFor, resolveChromePath } from '@drover/browser';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Cookie, type Page } from 'puppeteer-core';
import type { AgentBrowser } from '../../browser.port';

/** Where the e2e tests look for Chromium: `CHROME_PATH`, else the lightest installed one, as in production. */
export const chromiumPath = (): string => resolveChromePath();
export const chromiumAvailable = (): boolean => existsSync(chromiumPath());

/** The same flags production browsers use (`libs/browser`). */
export const CHROMIUM_FLAGS = CHROMIUM_ARGS;

export interface TestChromium {
  browser: Browser;
  /** Closes the browser and removes its temporary profile. */
  close(): Promise<void>;
}

/** A headless Chromium on a throw-away profile, for tests. */
export async function launchTestChromium(): Promise<TestChromium> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'drover-social-feed-'));
  try {
    const browser = await puppeteer.launch({
      executablePath: chromiumPath(),
      headless: headlessModeFor(chromiumPath()),
      userDataDir,
      args: [...CHROMIUM_FLAGS],
    });
    return {
      browser,
      close: async () => {
        try {
          await browser.close();
        } finally {
          await rm(userDataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw error;
  }
}

/** An AgentBrowser over one page of a fresh browser context; records saveCookies calls. */
export interface TestAgentBrowser extends AgentBrowser {
  context: BrowserContext;
  /** Cookies captured by each saveCookies call, in order. */
  savedCookies: Cookie[][];
  close(): Promise<void>;
}

export async function createTestAgentBrowser(browser: Browser, cookies: Cookie[] = []): Promise<TestAgentBrowser> {
  const context = await browser.createBrowserContext();
  if (cookies.length) await context.setCookie(...cookies);
  let current: Page | undefined;
  const savedCookies: Cookie[][] = [];
  return {
    context,
    savedCookies,
    async page() {
      if (!current || current.isClosed()) current = await context.newPage();
      return current;
    },
    async screenshot(label = 'page') {
      return `${label}.png`;
    },
    async saveCookies() {
      savedCookies.push(await context.cookies());
    },
    close: () => context.close(),
  };
}
