import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import {
  chromiumSandboxProblem,
  CHROMIUM_CANDIDATES,
  headlessModeFor,
  resolveChromePath,
  sandboxArgs,
} from './chromium';

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

describe('Chromium’s sandbox', () => {
  it('stays on unless the operator opts out', () => {
    expect(sandboxArgs(false)).toEqual([]);
    expect(sandboxArgs(true)).toEqual(['--no-sandbox']);
  });

  it('explains, as root without the opt-out, why Chromium cannot start and the two ways out', () => {
    expect(chromiumSandboxProblem(false, 0)).toBe(
      "Chromium's sandbox cannot run as root: run the session agent as an unprivileged user (the image does), " +
        'or set CHROME_NO_SANDBOX=true to run Chromium without its sandbox',
    );
    expect(chromiumSandboxProblem(true, 0)).toBeUndefined();
    expect(chromiumSandboxProblem(false, 10001)).toBeUndefined();
  });
});
