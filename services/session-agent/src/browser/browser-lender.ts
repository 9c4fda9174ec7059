import type { AgentBrowser } from '@drover/behaviors';
import type { SessionRef } from '@drover/contracts';
import type { BrowserHost, BrowserSession } from '@drover/browser';
import type { ScreenshotStore } from '@drover/platform';
import { withTimeout, type EgressPolicy, type Logger } from '@drover/runtime';
import type { CookieStore } from './cookie-store';

/** How long a stop waits for the final cookie save. */
const FINAL_SAVE_MS = 3_000;

/**
 * A browser lent to one agent's session; `release` saves its cookies (unless told not to: a
 * fenced session's cookies are not the agent's any more) and closes its context. Only the first
 * release acts.
 */
export interface LentBrowser {
  browser: AgentBrowser;
  release(options?: { saveCookies?: boolean }): Promise<void>;
}

/**
 * Lends each browser behaviour an isolated context on this process's one browser: cookies
 * restored from the persistence agent, the agent's proxy behind a local endpoint, cookies
 * saved on request, every `cookieSaveMs` and at release; screenshots into the shared store.
 */
export class BrowserLender {
  /** Contexts still closing after their session ended; a new session of the agent waits for it. */
  private readonly closing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly deps: {
      host: BrowserHost;
      cookies: CookieStore;
      screenshots: ScreenshotStore;
      logger: Logger;
      cookieSaveMs: number;
    },
  ) {}

  async lend(ref: SessionRef, proxy: string | undefined, egress: EgressPolicy): Promise<LentBrowser> {
    const { host, cookies, screenshots, logger } = this.deps;
    const { agentId } = ref;
    await this.closing.get(agentId);
    const session: BrowserSession = await host.openSession({
      agentId,
      ...(proxy ? { proxy } : {}),
      egress,
      cookies: await cookies.load(agentId),
    });
    const saveCookies = async () => {
      await cookies.save(ref, await session.cookies());
    };
    const timer = setInterval(() => {
      saveCookies().catch((error: Error) => logger.warn({ agentId, err: error.message }, 'cookie save failed'));
    }, this.deps.cookieSaveMs);
    timer.unref();
    let released = false;

    const browser: AgentBrowser = {
      page: () => session.page(),
      saveCookies,
      screenshot: async (label) => {
        const page = await session.page();
        const png = await page.screenshot({ type: 'png' });
        return screenshots.save(agentId, png, label);
      },
    };
    return {
      browser,
      // Cookies are saved before the session is reported ended (bounded, so a busy browser or
      // bus cannot hold a stop; the periodic save is at most COOKIE_SAVE_MS old). The context
      // closes afterwards; a new session of the same agent waits for that.
      release: async ({ saveCookies: save = true } = {}) => {
        if (released) return;
        released = true;
        clearInterval(timer);
        if (save) {
          await withTimeout(saveCookies(), FINAL_SAVE_MS, 'the final cookie save').catch((error: Error) =>
            logger.warn({ agentId, err: error.message }, 'final cookie save failed'),
          );
        }
        cookies.forget(agentId);
        const closed = session
          .close()
          .catch((error: Error) => logger.warn({ agentId, err: error.message }, 'browser context close failed'))
          .finally(() => this.closing.delete(agentId));
        this.closing.set(agentId, closed);
      },
    };
  }
}
