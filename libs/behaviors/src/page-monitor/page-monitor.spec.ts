import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { validateBehaviorConfig } from '../catalog';
import { builtInBehaviors, BehaviorRegistry } from '../registry';
import { testRun } from '../testing/behavior-context';
import { pageMonitor } from './page-monitor.behavior';
import { PageMonitorConfig } from './page-monitor.schema';

const fields = (behavior: string, config: unknown) => {
  const check = validateBehaviorConfig(behavior, config);
  return check.ok ? [] : check.issues.map((issue) => issue.field).sort();
};

describe('page-monitor config', () => {
  it('accepts a minimal config and defaults screenshot to never', () => {
    const check = validateBehaviorConfig('page-monitor', { url: 'https://shop.test/item', intervalMs: 500 });
    expect(check.ok).toBe(true);
    expect(check.ok && check.config).toEqual({ url: 'https://shop.test/item', intervalMs: 500, screenshot: 'never' });
  });

  it('accepts every field', () => {
    const config = {
      url: 'http://x.test/',
      selector: '#price',
      intervalMs: 60_000,
      screenshot: 'on-change',
      timeoutMs: 5_000,
    };
    expect(PageMonitorConfig.parse(config)).toEqual(config);
  });

  it('names each offending field under config', () => {
    expect(
      fields('page-monitor', {
        url: 'ftp://x.test/',
        selector: 'a'.repeat(501),
        intervalMs: 499,
        screenshot: 'sometimes',
        timeoutMs: 50,
      }),
    ).toEqual(['config.intervalMs', 'config.screenshot', 'config.selector', 'config.timeoutMs', 'config.url']);
    expect(fields('page-monitor', { url: 'https://x.test/' })).toEqual(['config.intervalMs']);
  });

  it('rejects unknown keys', () => {
    const check = validateBehaviorConfig('page-monitor', { url: 'https://x.test/', intervalMs: 500, script: 'x()' });
    expect(check.ok).toBe(false);
    expect(!check.ok ? check.message : '').toMatch(/script/);
  });
});

describe('page-monitor behaviour', () => {
  it('is registered, needs a browser, and fails the session without one', async () => {
    const registry = new BehaviorRegistry(builtInBehaviors());
    expect(registry.get('page-monitor')).toBe(pageMonitor);
    expect(pageMonitor.requires).toEqual(['browser']);
    const run = testRun(PageMonitorConfig.parse({ url: 'https://x.test/', intervalMs: 500 }), {});
    await assert.rejects(pageMonitor.run(run.context), /needs a browser/);
  });
});
