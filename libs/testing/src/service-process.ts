import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The repository root, from `libs/testing/src`, or from its compiled copy in `dist/libs/testing/src`
 * (the benchmarks run from `dist/`).
 */
export const REPO_ROOT = existsSync(resolve(__dirname, '../../../package.json'))
  ? resolve(__dirname, '../../..')
  : resolve(__dirname, '../../../..');

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** The REST API's base URL for the gateway and standalone; the ops URL for the other services. */
  url: string;
  /** Where `/live`, `/ready` and `/metrics` are (OPS_PORT): every long-running service has one. */
  opsUrl: string;
  output: () => string;
  /** Resolves with the exit code, or the signal's name. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * The secrets key ring every service a test process starts shares (`DROVER_SECRETS_KEY`, unless
 * the test sets its own), made once per test process and held in memory only.
 */
export const TEST_SECRETS_KEY = `test:${randomBytes(32).toString('base64')}`;

/** The services with a public REST API besides their ops endpoints. */
const API_SERVICES = new Set(['gateway', 'standalone']);

/** The `url` of the first JSON log line whose message is `msg`. */
function loggedUrl(output: string, msg: string): string | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    const match = /"url":"(http:\/\/[\d.]+:\d+)"/.exec(line);
    if (match?.[1]) return match[1];
  }
  return undefined;
}

/**
 * Starts a built service (`dist/services/<name>/src/main.js`) with only the given environment
 * (the test key ring; API and ops ports chosen by the system, on 127.0.0.1) and waits until it logs
 * the URLs it listens on.
 */
export async function startService(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const main = resolve(REPO_ROOT, 'dist/services', name, 'src/main.js');
  const child = spawn(process.execPath, [main], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      OPS_HOST: '127.0.0.1',
      OPS_PORT: '0',
      LOG_LEVEL: 'info',
      DROVER_SECRETS_KEY: TEST_SECRETS_KEY,
      ...sandboxOptOut(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.on('exit', (code, signal) => done(code ?? signal ?? -1)));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    // Standalone also prints both URLs, whatever LOG_LEVEL says.
    const opsUrl =
      loggedUrl(output, 'ops endpoints listening') ?? /\/metrics at (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
    const apiUrl = API_SERVICES.has(name)
      ? (loggedUrl(output, 'gateway listening') ?? /running at (http:\/\/[\d.]+:\d+)/.exec(output)?.[1])
      : opsUrl;
    if (opsUrl && apiUrl) {
      return {
        name,
        child,
        url: apiUrl,
        opsUrl,
        output: () => output,
        exited,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      };
    }
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not start:\n${output}`);
}

/** Runs a one-shot service to completion; resolves with its exit code and output. */
export async function runOnce(
  name: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number | string; output: string }> {
  const main = resolve(REPO_ROOT, 'dist/services', name, 'src/main.js');
  const child = spawn(process.execPath, [main, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...sandboxOptOut(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | string>((done) => child.on('exit', (c, s) => done(c ?? s ?? -1)));
  return { code, output };
}

/** The test run's Chromium sandbox opt-out (jest's global setup sets it as root), passed on to the services. */
export function sandboxOptOut(): { CHROME_NO_SANDBOX?: string } {
  const value = process.env.CHROME_NO_SANDBOX;
  return value === undefined ? {} : { CHROME_NO_SANDBOX: value };
}
