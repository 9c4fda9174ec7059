import type { ElementHandle, Page } from 'puppeteer';
import { redactCredentials } from '@drover/contracts';
import { AbortedError, untilAborted } from '@drover/runtime';
import type { Behavior, BehaviorContext } from '../behavior.port';
import type { AgentBrowser } from '../browser.port';
import { elementProperty } from '../page-monitor/element-property';
import { describeError } from '../page-monitor/describe-error';
import { ScriptedConfig, type ScriptStep } from './scripted.schema';
import { BEHAVIOR_CATALOG } from '../behavior-schemas';

const NAVIGATION_TIMEOUT_MS = 30_000;
/** How long click, type and extract wait for their element to appear. */
const ELEMENT_TIMEOUT_MS = 10_000;
const WAIT_FOR_TIMEOUT_MS = 30_000;
const MAX_EXTRACTED = 1_000;

/**
 * `scripted`: runs a fixed list of browser steps (goto, click, type, waitFor, extract,
 * screenshot, sleep) once, or every repeatEveryMs. A successful run records one `script.run`
 * activity with the extracted texts; the first failing step records a `script.step` activity
 * and ends that run. Steps only carry selectors and values: nothing from a config is evaluated
 * as code in the page.
 */
export const scripted: Behavior<ScriptedConfig> = {
  name: 'scripted',
  description: BEHAVIOR_CATALOG['scripted']!.description,
  configSchema: ScriptedConfig,
  requires: BEHAVIOR_CATALOG['scripted']!.requires,
  async run(context) {
    const browser = context.capabilities.browser;
    if (!browser) throw new Error('scripted needs a browser host');
    const redact = redactor(context.config.steps);
    while (!context.signal.aborted) {
      const started = performance.now();
      if ((await runOnce(context, browser, redact)) === 'aborted') return;
      const every = context.config.repeatEveryMs;
      if (every === undefined) return;
      const wait = Math.max(0, every - (performance.now() - started));
      if (!(await context.sleep(wait))) return;
    }
  },
};

type Redact = (text: string) => string;

/** Replaces every secret text of the script in `text`, so no activity or log carries one. */
function redactor(steps: readonly ScriptStep[]): Redact {
  const secrets = steps.flatMap((step) => (step.action === 'type' && step.secret ? [step.text] : []));
  return (text) => redactCredentials(text, secrets);
}

interface RunState {
  extracted: Map<string, string>;
  screenshots: string[];
}

async function runOnce(
  context: BehaviorContext<ScriptedConfig>,
  browser: AgentBrowser,
  redact: Redact,
): Promise<'done' | 'failed' | 'aborted'> {
  const { config, signal, report, logger } = context;
  const started = performance.now();
  const state: RunState = { extracted: new Map(), screenshots: [] };
  for (const [index, step] of config.steps.entries()) {
    logger.debug({ step: index, action: step.action }, 'scripted step');
    try {
      if (!(await runStep(context, browser, step, state, redact))) return 'aborted';
    } catch (error) {
      if (signal.aborted || error instanceof AbortedError) return 'aborted';
      await report({
        kind: 'script.step',
        ok: false,
        message: redact(describeError(error)),
        details: { step: index, action: step.action },
      });
      return 'failed';
    }
  }
  await report({
    kind: 'script.run',
    ok: true,
    details: {
      steps: config.steps.length,
      // fromEntries defines own properties, so a name like "__proto__" stays a plain key.
      extracted: Object.fromEntries(state.extracted),
      ms: Math.round(performance.now() - started),
      ...(state.screenshots.length > 0 ? { screenshots: state.screenshots } : {}),
    },
  });
  return 'done';
}

/** Runs one step; false when a sleep step was cut short by the stop. Throws the step's failure. */
async function runStep(
  { signal, sleep }: BehaviorContext<ScriptedConfig>,
  browser: AgentBrowser,
  step: ScriptStep,
  state: RunState,
  redact: Redact,
): Promise<boolean> {
  const page = () => untilAborted(browser.page(), signal);
  switch (step.action) {
    case 'goto': {
      const response = await untilAborted(
        (await page()).goto(step.url, { waitUntil: 'domcontentloaded', timeout: NAVIGATION_TIMEOUT_MS }),
        signal,
      ).catch(rethrowTimeout(`loading ${step.url} timed out after ${NAVIGATION_TIMEOUT_MS} ms`));
      const status = response?.status();
      if (status !== undefined && status >= 400) throw new Error(`${step.url} answered HTTP ${status}`);
      return true;
    }
    case 'click': {
      const element = await waitForElement(await page(), step.selector, ELEMENT_TIMEOUT_MS, signal);
      await withElement(element, () => untilAborted(element.click(), signal));
      return true;
    }
    case 'type': {
      const element = await waitForElement(await page(), step.selector, ELEMENT_TIMEOUT_MS, signal);
      await withElement(element, () => untilAborted(element.type(step.text), signal));
      return true;
    }
    case 'waitFor': {
      const element = await waitForElement(await page(), step.selector, step.timeoutMs ?? WAIT_FOR_TIMEOUT_MS, signal);
      await element.dispose();
      return true;
    }
    case 'extract': {
      const element = await waitForElement(await page(), step.selector, ELEMENT_TIMEOUT_MS, signal);
      const value = await withElement(element, () => untilAborted(elementProperty(element, 'textContent'), signal));
      const text = typeof value === 'string' ? value.trim().slice(0, MAX_EXTRACTED) : '';
      state.extracted.set(step.name, redact(text));
      return true;
    }
    case 'screenshot':
      state.screenshots.push(await untilAborted(browser.screenshot(step.label ?? 'scripted'), signal));
      return true;
    case 'sleep':
      return sleep(step.ms);
  }
}

/** The first element matching `selector`, waiting up to `timeoutMs` for it to appear. */
async function waitForElement(
  page: Page,
  selector: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ElementHandle> {
  const element = await untilAborted(page.waitForSelector(selector, { timeout: timeoutMs }), signal).catch(
    rethrowTimeout(`no element matches "${selector}" after ${timeoutMs} ms`),
  );
  if (!element) throw new Error(`no element matches "${selector}"`);
  return element;
}

function rethrowTimeout(message: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof Error && error.name === 'TimeoutError') throw new Error(message);
    throw error;
  };
}

async function withElement<T>(element: ElementHandle, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    void element.dispose().catch(() => undefined);
  }
}
