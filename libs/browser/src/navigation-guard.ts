import type { GoToOptions, HTTPResponse, Page } from 'puppeteer';
import { EgressRefusedError, type EgressPolicy } from '@drover/runtime';

const guarded = new WeakSet<Page>();

/**
 * Makes `page.goto` refuse what the agent's egress policy refuses, with the reason, before the
 * browser is asked: `file:`, `chrome:`, `data:` and other non-network URLs (those never reach the
 * agent's proxy), and hosts the policy forbids (the proxy would refuse them too, but the page load
 * would then only show a 403 or a failed tunnel). Redirects and subresources are the proxy's job.
 * A name that does not resolve is left to the browser, which reports it as usual. Patched on the
 * page object itself because behaviours drive puppeteer's `Page` directly.
 */
export function guardNavigation(page: Page, egress: EgressPolicy): Page {
  if (guarded.has(page)) return page;
  guarded.add(page);
  const goto = page.goto.bind(page);
  const guardedGoto = async (url: string, options?: GoToOptions): Promise<HTTPResponse | null> => {
    if (url !== 'about:blank') {
      const decision = await egress.checkUrl(url).catch(() => undefined);
      if (decision && !decision.allowed) throw new EgressRefusedError(decision.reason);
    }
    return goto(url, options);
  };
  Object.defineProperty(page, 'goto', { value: guardedGoto, configurable: true, writable: true });
  return page;
}
