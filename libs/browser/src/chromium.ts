import { existsSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Debian's Chromium builds, preferred first. `chromium-headless-shell` has no browser UI; the full
 * `chromium` opens a window per browser context, with its own omnibox WebUI renderer, so each
 * agent costs about four times the memory there (`npm run bench:sessions` measures both). The
 * headless shell is launched as the binary itself: Debian's `/usr/bin/chromium-headless-shell`
 * is a shell wrapper that does not `exec`, so signals to the launched process would miss the
 * browser.
 */
export const CHROMIUM_CANDIDATES: readonly string[] = [
  '/usr/lib/chromium/chromium-headless-shell',
  '/usr/bin/chromium',
];

/** `CHROME_PATH` when set, else the first installed candidate (else the first one, for the error message). */
export function resolveChromePath(configured: string | undefined = process.env.CHROME_PATH): string {
  if (configured) return configured;
  return CHROMIUM_CANDIDATES.find((path) => existsSync(path)) ?? CHROMIUM_CANDIDATES[0]!;
}

/**
 * Why Chromium cannot start with its sandbox, or undefined. Chromium refuses to run as root with
 * its sandbox on ("Running as root without --no-sandbox is not supported"); saying so before the
 * launch names the two ways out instead of a failed launch.
 */
export function chromiumSandboxProblem(
  noSandbox: boolean,
  uid: number | undefined = process.getuid?.(),
): string | undefined {
  if (noSandbox || uid !== 0) return undefined;
  return (
    "Chromium's sandbox cannot run as root: run the session agent as an unprivileged user " +
    '(the image does), or set CHROME_NO_SANDBOX=true to run Chromium without its sandbox'
  );
}

/** The sandbox flags of a launch: none with the sandbox on, `--no-sandbox` when the operator opted out. */
export function sandboxArgs(noSandbox: boolean): string[] {
  return noSandbox ? ['--no-sandbox'] : [];
}

/** puppeteer's headless mode for a binary: `shell` for chrome-headless-shell, else the new headless mode. */
export function headlessModeFor(chromePath: string): true | 'shell' {
  return basename(chromePath).includes('headless-shell') ? 'shell' : true;
}
