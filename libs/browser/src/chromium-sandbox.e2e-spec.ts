import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { reportMissing } from '@drover/testing';
import { resolveChromePath } from './chromium';

/** The compiled library (the e2e level builds `dist/` first): the check runs in a process of its own. */
const DIST = resolve(__dirname, '../../../dist/libs/browser/src');

/**
 * Launches Chromium as `launchInstance` does with the sandbox on, loads a page and lists the
 * flags of the browser's child processes. Prints one JSON line.
 */
const CHECK = `
const { execSync } = require('node:child_process');
const { launchInstance, closeInstance } = require(${JSON.stringify(join(DIST, 'browser-instance.js'))});
const logger = { info() {}, warn() {}, error() {}, debug() {}, child() { return logger; } };
(async () => {
  const instance = await launchInstance(process.argv[2], logger, () => undefined, false);
  const page = await instance.browser.newPage();
  await page.goto('data:text/html,<title>sandboxed</title>');
  const title = await page.title();
  const children = execSync('ps -o args= --ppid ' + instance.pid).toString();
  await closeInstance(instance, logger);
  console.log(JSON.stringify({ uid: process.getuid(), title, children }));
})().catch((error) => {
  console.log(JSON.stringify({ error: error.message }));
  process.exit(1);
});
`;

const chromePath = resolveChromePath();
const asRoot = process.getuid?.() === 0;
const setpriv = spawnSync('setpriv', ['--version']).status === 0;

/**
 * Chromium's sandbox works on this kernel for an unprivileged user, which is how the image runs
 * the session agent. As root (the test machine), the check runs as `nobody` through setpriv.
 */
describe('Chromium with its sandbox, as an unprivileged user', () => {
  if (!existsSync(chromePath)) return reportMissing(`Chromium not found at ${chromePath}`);
  if (asRoot && !setpriv) return reportMissing('running as root without setpriv to drop to an unprivileged user');

  it('starts, loads a page, and no process of it runs with --no-sandbox', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-sandbox-check-'));
    try {
      chmodSync(dir, 0o777);
      const script = join(dir, 'check.js');
      writeFileSync(script, CHECK, { mode: 0o644 });
      const command = asRoot
        ? [
            'setpriv',
            [
              '--reuid=65534',
              '--regid=65534',
              '--clear-groups',
              'env',
              `HOME=${dir}`,
              `TMPDIR=${dir}`,
              process.execPath,
              script,
              chromePath,
            ],
          ]
        : [process.execPath, [script, chromePath]];
      const result = spawnSync(command[0] as string, command[1] as string[], { encoding: 'utf8', timeout: 60_000 });
      const line = result.stdout.trim().split('\n').pop() ?? '';
      const report = JSON.parse(line || '{}') as { uid?: number; title?: string; children?: string; error?: string };
      expect(report.error).toBeUndefined();
      expect(report.uid).not.toBe(0);
      expect(report.title).toBe('sandboxed');
      expect(report.children).toMatch(/--type=(zygote|renderer)/);
      expect(report.children).not.toMatch(/--no-sandbox/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
