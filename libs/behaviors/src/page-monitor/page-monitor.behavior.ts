import type { Page } from 'puppeteer';
import { AbortedError, untilAborted } from '@drover/runtime';
import type { Behavior, BehaviorContext } from '../behavior.port';
import { PageMonitorConfig } from './page-monitor.schema';
import { elementProperty } from './element-property';
import { describeError } from './describe-error';
import { BEHAVIOR_CATALOG } from '../behavior-schemas';

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TEXT = 500;
export const PAGE_MONITOR_STORAGE_KEY = 'page-monitor:last';

/** What the previous tick saw, kept in the agent's storage so a restart does not report a change. */
interface LastSeen {
  url: string;
  selector: string | null;
  text: string | null;
}

/**
 * `page-monitor`: loads a URL in the agent's browser every intervalMs and records one
 * `page.check` activity per load with status, title, the watched text and whether it changed.
 */
export const pageMonitor: Behavior<PageMonitorConfig> = {
  name: 'page-monitor',
  description: BEHAVIOR_CATALOG['page-monitor']!.description,
  configSchema: PageMonitorConfig,
  requires: BEHAVIOR_CATALOG['page-monitor']!.requires,
  async run(context) {
    const { config, capabilities } = context;
    const browser = capabilities.browser;
    if (!browser) throw new Error('page-monitor needs a browser host');
    const storage = capabilities.storage;
    const stored = await storage?.get<LastSeen>(PAGE_MONITOR_STORAGE_KEY).catch((error: unknown) => {
      context.logger.warn({ err: error }, 'page-monitor could not read the last text; starting afresh');
      return undefined;
    });
    const selector = config.selector ?? null;
    let last: LastSeen | undefined =
      stored && stored.url === config.url && stored.selector === selector ? stored : undefined;

    while (!context.signal.aborted) {
      const seen = await check(context, last);
      if (seen === 'aborted') return;
      if (seen && seen.text !== last?.text) {
        await storage?.set(PAGE_MONITOR_STORAGE_KEY, seen).catch((error: unknown) => {
          context.logger.warn({ err: error }, 'page-monitor could not save the last text');
        });
      }
      if (seen) last = seen;
      if (!(await context.sleep(config.intervalMs))) return;
    }
  },
};

/** One tick; returns what a good load saw, undefined after a failed check, or 'aborted'. */
async function check(
  { config, signal, report, capabilities }: BehaviorContext<PageMonitorConfig>,
  last: LastSeen | undefined,
): Promise<LastSeen | undefined | 'aborted'> {
  const browser = capabilities.browser!;
  const timeout = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const selector = config.selector ?? null;
  try {
    const page = await untilAborted(browser.page(), signal);
    const response = await untilAborted(page.goto(config.url, { waitUntil: 'domcontentloaded', timeout }), signal);
    const status = response?.status() ?? null;
    const title = await untilAborted(page.title(), signal);
    const text = await untilAborted(readText(page, selector), signal);
    const missing = selector !== null && text === null;
    const ok = status !== null && status < 400 && !missing;
    // Only pages that loaded fine are compared: an error page or a missing element is reported
    // as not ok, and the next good load is compared with the last good one.
    const changed = ok && last !== undefined && last.text !== text;
    const details: Record<string, unknown> = { status, title, text, changed, ms: elapsed() };
    if (config.screenshot === 'always' || (config.screenshot === 'on-change' && changed)) {
      try {
        details.screenshot = await untilAborted(browser.screenshot('page-monitor'), signal);
      } catch (error) {
        if (error instanceof AbortedError) throw error;
        details.screenshotError = describeError(error);
      }
    }
    const message = missing
      ? `selector "${selector}" not found`
      : status === null
        ? 'no response'
        : status >= 400
          ? `HTTP ${status}`
          : undefined;
    await report({ kind: 'page.check', ok, ...(message ? { message } : {}), details });
    return ok ? { url: config.url, selector, text } : undefined;
  } catch (error) {
    if (signal.aborted || error instanceof AbortedError) return 'aborted';
    await report({
      kind: 'page.check',
      ok: false,
      message: describeError(error, timeout),
      details: { status: null, title: null, text: null, changed: false, ms: elapsed() },
    });
    return undefined;
  }
}

/** The trimmed text of the first match (null when none), or the page's visible text. */
async function readText(page: Page, selector: string | null): Promise<string | null> {
  const element = await page.$(selector ?? 'body');
  if (!element) return selector === null ? '' : null;
  try {
    const value = await elementProperty(element, selector === null ? 'innerText' : 'textContent');
    return typeof value === 'string' ? truncate(value.trim(), MAX_TEXT) : '';
  } finally {
    await element.dispose();
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max);
}
