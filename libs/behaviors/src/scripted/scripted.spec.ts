import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
    assert.equal(check.ok, true);
    assert.deepEqual(ScriptedConfig.parse(config), config);
  });

  it('names the offending step field as config.steps.<index>.<field>', () => {
    assert.deepEqual(fields({ steps: [{ action: 'click' }] }), ['config.steps.0.selector']);
    assert.deepEqual(
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
      [
        'config.repeatEveryMs',
        'config.steps.0.url',
        'config.steps.1.text',
        'config.steps.2.ms',
        'config.steps.3.name',
        'config.steps.4.selector',
        'config.steps.4.timeoutMs',
      ],
    );
  });

  it('rejects unknown actions, so no code can come in as a step', () => {
    assert.deepEqual(
      fields({
        steps: [
          { action: 'goto', url: 'https://x.test/' },
          { action: 'evaluate', code: '1' },
        ],
      }),
      ['config.steps.1.action'],
    );
  });

  it('rejects unknown keys on steps and on the config', () => {
    assert.deepEqual(fields({ steps: [{ action: 'click', selector: '#a', script: 'x()' }] }), ['config.steps.0']);
    assert.deepEqual(fields({ steps: [{ action: 'click', selector: '#a' }], loop: true }), ['config']);
  });

  it('needs 1 to 100 steps', () => {
    assert.deepEqual(fields({ steps: [] }), ['config.steps']);
    assert.deepEqual(fields({ steps: Array.from({ length: 101 }, () => ({ action: 'sleep', ms: 1 })) }), [
      'config.steps',
    ]);
    assert.deepEqual(fields({ steps: Array.from({ length: 100 }, () => ({ action: 'sleep', ms: 1 })) }), []);
    assert.deepEqual(fields({}), ['config.steps']);
  });
});

describe('behaviour catalog', () => {
  it('validates page-monitor and scripted without loading the browser library', () => {
    assert.equal(validateBehaviorConfig('scripted', { steps: [{ action: 'sleep', ms: 1 }] }).ok, true);
    assert.equal(validateBehaviorConfig('page-monitor', { url: 'https://x.test/', intervalMs: 500 }).ok, true);
    const loaded = Object.keys(require.cache).filter((path) => path.includes('puppeteer'));
    assert.deepEqual(loaded, []);
  });
});
