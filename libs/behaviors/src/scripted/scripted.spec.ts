import { describe, expect, it } from '@jest/globals';
import { validateBehaviorConfig } from '../catalog';
import { ScriptedConfig } from './scripted.schema';

const fields = (config: unknown) => {
  const check = validateBehaviorConfig('scripted', config);
  return check.ok ? [] : check.issues.map((issue) => issue.field).sort();
};

describe('scripted config', () => {
  it('accepts every kind of step', () => {
    const config = {
      steps: [
        { action: 'goto', url: 'https://shop.test/login' },
        { action: 'type', selector: '#user', text: 'alice' },
        { action: 'type', selector: '#password', text: 'pw', secret: true },
        { action: 'click', selector: 'button[type=submit]' },
        { action: 'waitFor', selector: '#account', timeoutMs: 5_000 },
        { action: 'extract', selector: '#balance', name: 'balance' },
        { action: 'screenshot', label: 'account' },
        { action: 'screenshot' },
        { action: 'sleep', ms: 600_000 },
      ],
      repeatEveryMs: 60_000,
    };
    const check = validateBehaviorConfig('scripted', config);
    expect(check.ok).toBe(true);
    expect(ScriptedConfig.parse(config)).toEqual(config);
  });

  it('names the offending step field as config.steps.<index>.<field>', () => {
    expect(fields({ steps: [{ action: 'click' }] })).toEqual(['config.steps.0.selector']);
    expect(
      fields({
        steps: [
          { action: 'goto', url: 'javascript:alert(1)' },
          { action: 'type', selector: '#a' },
          { action: 'sleep', ms: 600_001 },
          { action: 'extract', selector: '#b', name: 'not a name' },
          { action: 'waitFor', selector: 'x'.repeat(501), timeoutMs: 0 },
        ],
        repeatEveryMs: 999,
      }),
    ).toEqual([
      'config.repeatEveryMs',
      'config.steps.0.url',
      'config.steps.1.text',
      'config.steps.2.ms',
      'config.steps.3.name',
      'config.steps.4.selector',
      'config.steps.4.timeoutMs',
    ]);
  });

  it('rejects unknown actions, so no code can come in as a step', () => {
    expect(
      fields({
        steps: [
          { action: 'goto', url: 'https://x.test/' },
          { action: 'evaluate', code: '1' },
        ],
      }),
    ).toEqual(['config.steps.1.action']);
  });

  it('rejects unknown keys on steps and on the config', () => {
    expect(fields({ steps: [{ action: 'click', selector: '#a', script: 'x()' }] })).toEqual(['config.steps.0']);
    expect(fields({ steps: [{ action: 'click', selector: '#a' }], loop: true })).toEqual(['config']);
  });

  it('needs 1 to 100 steps', () => {
    expect(fields({ steps: [] })).toEqual(['config.steps']);
    expect(fields({ steps: Array.from({ length: 101 }, () => ({ action: 'sleep', ms: 1 })) })).toEqual([
      'config.steps',
    ]);
    expect(fields({ steps: Array.from({ length: 100 }, () => ({ action: 'sleep', ms: 1 })) })).toEqual([]);
    expect(fields({})).toEqual(['config.steps']);
  });
});

describe('behaviour catalog', () => {
  it('validates page-monitor and scripted without loading the browser library', () => {
    expect(validateBehaviorConfig('scripted', { steps: [{ action: 'sleep', ms: 1 }] }).ok).toBe(true);
    expect(validateBehaviorConfig('page-monitor', { url: 'https://x.test/', intervalMs: 500 }).ok).toBe(true);
    const loaded = Object.keys(require.cache).filter((path) => path.includes('puppeteer'));
    expect(loaded).toEqual([]);
  });
});
