import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig, type DroverConfig } from '@drover/runtime';
import { sandboxOptOut } from '@drover/testing/service-process';

export { eventually, http, type JsonResponse } from '@drover/testing';

/** The compiled standalone process (jest's global setup builds `dist/` for this level). */
const MAIN = resolve(__dirname, '../../../dist/services/standalone/src/main.js');

/** A run-profile with short timers so recovery happens within seconds in tests. */
export function writeFastProfile(overrides: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'drover-profiles-'));
  mkdirSync(join(dir, 'e2e'));
  const profile = {
    name: 'e2e',
    sessionAgent: { maxConcurrentAgents: 5, heartbeatMs: 200, leaseMs: 3_000 },
    recovery: { onInterrupt: 'restart', maxAttempts: 3, backoffInitialMs: 200, backoffMaxMs: 1_000 },
    gateway: { commandTimeoutMs: 2_000, queryTimeoutMs: 2_000 },
    engine: { leaseMs: 5_000 },
    scheduler: { tickMs: 200, startTimeoutMs: 10_000 },
    // The agents of these tests check the standalone's own endpoints and fixtures on 127.0.0.1.
    egress: { allow: ['loopback'] },
    ...overrides,
  };
  writeFileSync(join(dir, 'e2e', 'profile.json'), JSON.stringify(profile));
  return dir;
}

/** The environment every standalone test starts from: loopback, any free ports, the `e2e` profile. */
function baseEnv(dataDir: string, profilesDir: string): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    PORT: '0',
    HOST: '127.0.0.1',
    OPS_PORT: '0',
    DROVER_DATA_DIR: dataDir,
    DROVER_PROFILES_DIR: profilesDir,
    DROVER_PROFILE: 'e2e',
    LOG_LEVEL: 'silent',
  };
}

/** The configuration of a standalone system started in the test's own process (`startStandalone`). */
export function standaloneConfig(
  dataDir: string,
  profilesDir: string,
  env: Record<string, string | undefined> = {},
): DroverConfig {
  return loadConfig({ ...baseEnv(dataDir, profilesDir), ...env });
}

export interface StandaloneProcess {
  url: string;
  /** `/live`, `/ready`, `/metrics` (OPS_PORT). */
  opsUrl: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

/** Starts `dist/services/standalone/src/main.js` as a child process and waits for its URL. */
export async function startStandaloneProcess(
  dataDir: string,
  profilesDir: string,
  env: Record<string, string> = {},
): Promise<StandaloneProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...baseEnv(dataDir, profilesDir), LOG_LEVEL: 'warn', ...sandboxOptOut(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.on('exit', (code, signal) => done(code ?? signal ?? -1)));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const url = /running at (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
    const opsUrl = /\/metrics at (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
    if (url && opsUrl) return { url, opsUrl, child, output: () => output, exited };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`standalone did not start:\n${output}`);
}
