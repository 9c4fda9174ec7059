import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { CHROMIUM_CANDIDATES, headlessModeFor, resolveChromePath } from './chromium';

describe('choosing the Chromium binary', () => {
  it('takes CHROME_PATH as given, else the first installed candidate', () => {
    expect(resolveChromePath('/opt/chrome/chrome')).toBe('/opt/chrome/chrome');
    const installed = CHROMIUM_CANDIDATES.find((path) => existsSync(path));
    expect(resolveChromePath('')).toBe(installed ?? CHROMIUM_CANDIDATES[0]);
    expect(CHROMIUM_CANDIDATES[0]).toBe('/usr/lib/chromium/chromium-headless-shell');
  });

  it('launches chrome-headless-shell in puppeteer’s shell mode, any other build in the new headless mode', () => {
    expect(headlessModeFor('/usr/bin/chromium-headless-shell')).toBe('shell');
    expect(headlessModeFor('/opt/chrome-headless-shell/chrome-headless-shell')).toBe('shell');
    expect(headlessModeFor('/usr/bin/chromium')).toBe(true);
  });
});
