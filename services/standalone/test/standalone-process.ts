import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const MAIN = resolve(__dirname, '../src/main.js');

/** A run-profile with short timers so recovery happens within seconds in tests. */
export function writeFastProfile(overrides: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'drover-profiles-'));
  mkdirSync(join(dir, 'e2e'));
  const profile = {
    name: 'e2e',
    sessionAgent: { maxConcurrentAgents: 5, heartbeatMs: 200, leaseMs: 1_500 },
    recovery: { onInterrupt: 'restart', maxAttempts: 3, backoffInitialMs: 200, backoffMaxMs: 1_000 },
    gateway: { commandTimeoutMs: 2_000, queryTimeoutMs: 2_000 },
    scheduler: { tickMs: 200, startTimeoutMs: 10_000 },
    ...overrides,
  };
  writeFileSync(join(dir, 'e2e', 'profile.json'), JSON.stringify(profile));
  return dir;
}

export interface StandaloneProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

/** Starts `dist/services/standalone/src/main.js` as a child process and waits for its URL. */
export async function startStandaloneProcess(dataDir: string, profilesDir: string): Promise<StandaloneProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      HOST: '127.0.0.1',
      DROVER_DATA_DIR: dataDir,
      DROVER_PROFILES_DIR: profilesDir,
      DROVER_PROFILE: 'e2e',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.on('exit', (code, signal) => done(code ?? signal ?? -1)));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const match = /running at (http:\/\/[\d.]+:\d+)/.exec(output);
    if (match?.[1]) return { url: match[1], child, output: () => output, exited };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`standalone did not start:\n${output}`);
}

/** Polls until `check` returns a value, or fails with the last value seen. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function http(
  url: string,
  init: { method?: string; body?: unknown; raw?: string } = {},
): Promise<JsonResponse> {
  const hasBody = init.body !== undefined || init.raw !== undefined;
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: hasBody ? { 'content-type': 'application/json' } : {},
    body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}
