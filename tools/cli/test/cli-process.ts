import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The launcher npm links as `drover` (package.json `bin`), run as an operator's shell would. */
export const DROVER_BIN = resolve(__dirname, '../../../bin/drover.mjs');

export interface Finished {
  code: number | string;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<Finished>;
  /** Resolves once stdout matches, or fails naming what it saw. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<string>;
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/**
 * Starts `node bin/drover.mjs <args>` with only PATH and `env` (so nothing of the test's own
 * environment, such as RABBITMQ_URL, changes what the CLI does), `stdin` written and closed.
 */
export function startCli(args: string[], env: Record<string, string> = {}, stdin?: string): Running {
  const child = spawn(process.execPath, [DROVER_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(stdin ?? '');
  const exited = new Promise<Finished>((done) =>
    child.on('close', (code, signal) => done({ code: code ?? signal ?? -1, stdout, stderr })),
  );
  async function waitFor(name: string, text: () => string, pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const match = pattern.exec(text());
      if (match) return match[0];
      if (child.exitCode !== null) break;
      await sleep(50);
    }
    throw new Error(
      `drover ${args.join(' ')}: no ${String(pattern)} on ${name}.\nstdout:\n${stdout}\nstderr:\n${stderr}`,
    );
  }
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForStdout: (pattern, timeoutMs) => waitFor('stdout', () => stdout, pattern, timeoutMs),
    waitForStderr: (pattern, timeoutMs) => waitFor('stderr', () => stderr, pattern, timeoutMs),
  };
}

/** Runs the CLI to its end. */
export function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Finished> {
  return startCli(args, env, stdin).exited;
}

/** stdout's lines as JSON values (`--json`). */
export function jsonLines(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as unknown);
}
