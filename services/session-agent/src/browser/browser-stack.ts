import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Activity, SessionRef } from '@drover/contracts';
import type { AgentStorage } from '@drover/behaviors';
import { BrowserHost, chromiumSandboxProblem, resolveChromePath } from '@drover/browser';
import type { Bus } from '@drover/messaging';
import { ScreenshotStore, type DroverMetrics } from '@drover/platform';
import type { Env, Logger, SecretBox } from '@drover/runtime';
import { BrowserLender } from './browser-lender';
import { BusAgentStorage } from './bus-agent-storage';
import { CookieStore } from './cookie-store';

export interface BrowserStack {
  /** Absent when Chromium is not installed or cannot start: browser behaviours then fail with `unavailable`. */
  lender?: BrowserLender;
  unavailable?: string;
  storage: (session: SessionRef) => AgentStorage;
  shutdown(): Promise<void>;
}

/**
 * One browser per session-agent process, launched at start when Chromium is present (and can
 * start: with its sandbox, not as root, unless `CHROME_NO_SANDBOX`). Egress refusals, browser
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
  // As root Chromium will not start with its sandbox: HTTP agents still run, browser agents fail
  // with this reason (docs/api.md, "Chromium's sandbox").
  const sandboxProblem = chromiumSandboxProblem(env.CHROME_NO_SANDBOX);
  if (sandboxProblem) {
    logger.error({ chromePath }, `${sandboxProblem}: browser behaviours cannot run here`);
    return { storage, unavailable: sandboxProblem, shutdown: async () => undefined };
  }
  if (env.CHROME_NO_SANDBOX) logger.warn('Chromium runs without its sandbox (CHROME_NO_SANDBOX=true)');
  const host = new BrowserHost({
    chromePath,
    logger: logger.child({ component: 'browser' }),
    maxContextsPerBrowser: env.BROWSER_MAX_CONTEXTS,
    maxBrowserRssMb: env.BROWSER_MAX_RSS_MB,
    noSandbox: env.CHROME_NO_SANDBOX,
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
    onEgressRefused: (agentId, refusal) =>
      note(agentId, {
        kind: 'egress.refused',
        ok: false,
        message: `egress refused: ${refusal.reason}`,
        details: { target: refusal.target },
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
