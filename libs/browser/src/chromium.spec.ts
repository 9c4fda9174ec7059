import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CHROMIUM_CANDIDATES, headlessModeFor, resolveChromePath } from './chromium';

describe('choosing the Chromium binary', () => {
  it('takes CHROME_PATH as given, else the first installed candidate', () => {
    assert.equal(resolveChromePath('/opt/chrome/chrome'), '/opt/chrome/chrome');
    const installed = CHROMIUM_CANDIDATES.find((path) => existsSync(path));
    assert.equal(resolveChromePath(''), installed ?? CHROMIUM_CANDIDATES[0]);
    assert.equal(CHROMIUM_CANDIDATES[0], '/usr/lib/chromium/chromium-headless-shell');
  });

  it('launches chrome-headless-shell in puppeteer’s shell mode, any other build in the new headless mode', () => {
    assert.equal(headlessModeFor('/usr/bin/chromium-headless-shell'), 'shell');
    assert.equal(headlessModeFor('/opt/chrome-headless-shell/chrome-headless-shell'), 'shell');
    assert.equal(headlessModeFor('/usr/bin/chromium'), true);
  });
});
