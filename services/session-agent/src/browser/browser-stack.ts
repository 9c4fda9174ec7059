import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Activity, SessionRef } from '@drover/contracts';
import type { AgentStorage } from '@drover/behaviors';
import { BrowserHost, resolveChromePath } from '@drover/browser';
import type { Bus } from '@drover/messaging';
import { ScreenshotStore, type DroverMetrics } from '@drover/platform';
import type { Env, Logger, SecretBox } from '@drover/runtime';
import { BrowserLender } from './browser-lender';
import { BusAgentStorage } from './bus-agent-storage';
import { CookieStore } from './cookie-store';

export interface BrowserStack {
  /** Absent when Chromium is not installed: browser behaviours then fail with the reason. */
  lender?: BrowserLender;
  storage: (session: SessionRef) => AgentStorage;
  shutdown(): Promise<void>;
}

/**
 * One browser per session-agent process, launched at start when Chromium is present. Browser
 * rebuilds and proxy failures become activities of the agent concerned (`note`).
 */
export async function startBrowserStack(deps: {
  env: Env;
  bus: Bus;
  logger: Logger;
  note: (agentId: string, activity: Activity) => void;
  metrics?: DroverMetrics;
  secrets: SecretBox;
}): Promise<BrowserStack> {
  const { env, bus, logger, note, metrics, secrets } = deps;
  const storage = (session: SessionRef) => new BusAgentStorage(bus, session);
  const chromePath = resolveChromePath(env.CHROME_PATH);
  if (!existsSync(chromePath)) {
    logger.warn({ chromePath }, 'Chromium not found: browser behaviours cannot run here');
    return { storage, shutdown: async () => undefined };
  }
  const host = new BrowserHost({
    chromePath,
    logger: logger.child({ component: 'browser' }),
    maxContextsPerBrowser: env.BROWSER_MAX_CONTEXTS,
    maxBrowserRssMb: env.BROWSER_MAX_RSS_MB,
    // A proxied agent never bypasses its proxy, not even for loopback addresses.
    proxyBypassList: ['<-loopback>'],
    onRebuilt: (agentId, reason) => {
      metrics?.browserRebuilds.inc({ reason });
      note(agentId, { kind: 'browser.rebuilt', ok: true, message: `moved to a new browser after a ${reason}` });
    },
    onProxyError: (agentId, failure) =>
      note(agentId, {
        kind: 'proxy.error',
        ok: false,
        message: failure.message,
        details: { errorClass: failure.errorClass },
      }),
  });
  await host.start();
  // Both series exist from the start, so increase() also sees the first recycle or crash.
  for (const reason of ['recycle', 'crash'] as const) metrics?.browserRebuilds.inc({ reason }, 0);
  const lender = new BrowserLender({
    host,
    cookies: new CookieStore(bus, secrets, logger),
    screenshots: new ScreenshotStore(resolve(env.PERSISTENT_DATA_PATH), env.SCREENSHOT_LIMIT),
    logger,
    cookieSaveMs: env.COOKIE_SAVE_MS,
  });
  return { lender, storage, shutdown: () => host.shutdown() };
}
