import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, type Browser } from 'puppeteer';
import { withTimeout, type Logger } from '@drover/runtime';
import { chromiumSandboxProblem, headlessModeFor, sandboxArgs } from './chromium';
import { isAlive, killAll, processTree, waitGone } from './process-tree';

/**
 * The Chromium flags every browser is launched with (on top of puppeteer's defaults). The
 * sandbox stays on unless the operator opts out (`sandboxArgs`). Non-proxied UDP (WebRTC) is off,
 * so nothing a page does skips the agent's local proxy and its egress policy.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
];

const CLOSE_TIMEOUT_MS = 5_000;

/** One launched Chromium with its own profile directory. */
export interface BrowserInstance {
  browser: Browser;
  pid?: number;
  userDataDir: string;
  contextsCreated: number;
  /** Set before we close it ourselves, so its `disconnected` is not a crash. */
  expectedClose: boolean;
  exited: Promise<void>;
}

/** Launches Chromium on a fresh profile; `onDisconnected` hears of its exit, expected or not. */
export async function launchInstance(
  chromePath: string,
  logger: Logger,
  onDisconnected: (instance: BrowserInstance) => void,
  noSandbox = false,
): Promise<BrowserInstance> {
  const sandboxProblem = chromiumSandboxProblem(noSandbox);
  if (sandboxProblem) throw new Error(sandboxProblem);
  const userDataDir = await mkdtemp(join(tmpdir(), 'drover-chromium-'));
  let browser: Browser;
  try {
    browser = await launch({
      executablePath: chromePath,
      headless: headlessModeFor(chromePath),
      userDataDir,
      args: [...CHROMIUM_ARGS, ...sandboxArgs(noSandbox)],
      // CDP over a pipe: when this process dies, even by SIGKILL, the pipe closes and
      // Chromium exits with it, so a killed session agent leaves no browser behind.
      pipe: true,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
    throw error;
  }
  const child = browser.process();
  const instance: BrowserInstance = {
    browser,
    pid: child?.pid,
    userDataDir,
    contextsCreated: 0,
    expectedClose: false,
    exited: child ? exitOf(child) : Promise.resolve(),
  };
  browser.on('disconnected', () => onDisconnected(instance));
  logger.info({ browserPid: instance.pid, userDataDir }, 'chromium launched');
  return instance;
}

/** Close politely, SIGKILL the process tree if that hangs, wait for every process to go, remove the profile. */
export async function closeInstance(instance: BrowserInstance, logger: Logger): Promise<void> {
  instance.expectedClose = true;
  const pid = instance.pid;
  const tree = pid !== undefined && isAlive(pid) ? processTree(pid) : [];
  let closed = false;
  if (instance.browser.connected) {
    closed = await withTimeout(instance.browser.close(), CLOSE_TIMEOUT_MS, 'browser.close()').then(
      () => true,
      (error: unknown) => {
        logger.warn({ browserPid: pid, err: error }, 'browser.close() failed; killing the process tree');
        return false;
      },
    );
  }
  if (pid !== undefined) {
    if (!closed) {
      killGroup(pid);
      killAll(tree.filter(isAlive));
    }
    await withTimeout(instance.exited, CLOSE_TIMEOUT_MS, 'chromium exit').catch(() => {
      killGroup(pid);
      return withTimeout(instance.exited, CLOSE_TIMEOUT_MS, 'chromium exit after SIGKILL');
    });
    // Children the browser left behind (reparented; still in its process group).
    const leftovers = processTree(pid).filter(isAlive);
    if (leftovers.length > 0) {
      killGroup(pid);
      killAll(leftovers);
    }
    const survivors = await waitGone([...new Set([...tree, ...leftovers])], CLOSE_TIMEOUT_MS);
    if (survivors.length > 0) logger.error({ browserPid: pid, survivors }, 'chromium processes survived SIGKILL');
  }
  await rm(instance.userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(
    (error: unknown) => logger.warn({ dir: instance.userDataDir, err: error }, 'could not remove the profile'),
  );
  logger.info({ browserPid: pid }, 'chromium closed');
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Puppeteer launches Chromium detached, so its pid is also its process group id. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // group already empty
  }
}
