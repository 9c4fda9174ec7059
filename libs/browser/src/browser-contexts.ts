import type { BrowserContext, CookieData, Page } from 'puppeteer';
import { withTimeout, type Logger } from '@drover/runtime';
import type { BrowserInstance } from './browser-instance';
import { toCookieData } from './cookies';
import type { EgressPolicy } from '@drover/runtime';
import type { LocalProxy } from './local-proxy';

const CDP_TIMEOUT_MS = 10_000;

/** One agent's session: its proxy endpoint, its context and page on the current browser, its cookie snapshot. */
export interface SessionState {
  agentId: string;
  /** Every request of the context goes through it: it enforces `egress`. */
  proxy: LocalProxy;
  egress: EgressPolicy;
  context?: BrowserContext;
  page?: Page;
  snapshot: CookieData[];
  closed: boolean;
}

/**
 * New context (same local proxy endpoint) on the given browser, cookies restored, one page.
 * `<-loopback>` removes Chromium's implicit bypass of loopback hosts: nothing skips the proxy, so
 * nothing skips the egress policy.
 */
export async function attachContext(state: SessionState, instance: BrowserInstance): Promise<void> {
  const context = await instance.browser.createBrowserContext({
    proxyServer: state.proxy.url,
    proxyBypassList: ['<-loopback>'],
  });
  instance.contextsCreated += 1;
  try {
    if (state.snapshot.length > 0) await context.setCookie(...state.snapshot);
    const page = await context.newPage();
    state.context = context;
    state.page = page;
  } catch (error) {
    await context.close().catch(() => undefined);
    throw error;
  }
}

/** Closes the session's context if its browser still runs; the session keeps its snapshot. */
export async function closeContext(state: SessionState): Promise<void> {
  const context = state.context;
  state.context = undefined;
  state.page = undefined;
  if (context && !context.closed && context.browser().connected) {
    await withTimeout(context.close(), CDP_TIMEOUT_MS, 'context.close()').catch(() => undefined);
  }
}

/** Re-reads the session's cookies. Best effort: on failure (browser gone) the previous snapshot stays. */
export async function refreshSnapshot(state: SessionState, logger: Logger): Promise<void> {
  if (state.closed || !state.context || !state.context.browser().connected) return;
  try {
    const cookies = await withTimeout(state.context.cookies(), CDP_TIMEOUT_MS, 'context.cookies()');
    state.snapshot = cookies.map(toCookieData);
  } catch (error) {
    logger.debug({ agentId: state.agentId, err: error }, 'cookie read failed; keeping the last snapshot');
  }
}
