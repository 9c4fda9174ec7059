import { spawn, type ChildProcess } from 'node:child_process';
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
  /** The HTTP base URL the service printed (API for the gateway, ops endpoints otherwise). */
  url: string;
  output: () => string;
  /** Resolves with the exit code, or the signal's name. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Starts a built service (`dist/services/<name>/src/main.js`) with only the given environment
 * and waits until it logs the URL it listens on.
 */
export async function startService(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const main = resolve(REPO_ROOT, 'dist/services', name, 'src/main.js');
  const child = spawn(process.execPath, [main], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...sandboxOptOut(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.on('exit', (code, signal) => done(code ?? signal ?? -1)));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const match = /"url":"(http:\/\/[\d.]+:\d+)"/.exec(output) ?? /running at (http:\/\/[\d.]+:\d+)/.exec(output);
    if (match?.[1]) {
      const url = match[1];
      return {
        name,
        child,
        url,
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
