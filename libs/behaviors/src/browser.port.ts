import type { Page } from 'puppeteer';

/**
 * An agent's browser, as a session host lends it to a behaviour (`capabilities.browser`).
 * The page lives in the agent's own browser context, behind the agent's proxy, with its
 * cookies restored. The host may recycle the browser under a running behaviour, so fetch the
 * page with `page()` at each step instead of keeping it.
 */
export interface AgentBrowser {
  page(): Promise<Page>;
  /** Saves a PNG of the page under the agent's screenshot directory; returns the file name. */
  screenshot(label?: string): Promise<string>;
  /** Persists the context's cookies now (the host also saves them periodically and at stop). */
  saveCookies(): Promise<void>;
}
