import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually, writeFastProfile } from './standalone-process';

const MAIN = resolve(__dirname, '../../../dist/services/standalone/src/main.js');

/** `npm start` with this environment (no HOST unless given); output and exit code. */
function start(env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-bind-'));
  dirs.push(dataDir);
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      OPS_PORT: '0',
      DROVER_DATA_DIR: dataDir,
      DROVER_PROFILES_DIR: profilesDir,
      DROVER_PROFILE: 'e2e',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((done) => child.on('exit', (code, signal) => done(code ?? signal ?? -1)));
  return { child, output: () => output, exited };
}

const profilesDir = writeFastProfile();
const dirs: string[] = [profilesDir];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('npm start: where the API listens', () => {
  it('listens on 127.0.0.1 only without API keys, and says so', async () => {
    const system = start({});
    try {
      const url = await eventually(
        'the API url',
        async () => /running at (http:\/\/[\d.]+:\d+)/.exec(system.output())?.[1],
      );
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(system.output()).toMatch(
        /no DROVER_API_KEYS: the API is unauthenticated, so it listens on 127\.0\.0\.1 only/,
      );
      expect((await fetch(`${url}/live`)).status).toBe(200);
    } finally {
      system.child.kill('SIGTERM');
      await system.exited;
    }
  });

  it('refuses a public bind without API keys with exit 2 and a clear message', async () => {
    const system = start({ HOST: '0.0.0.0' });
    expect(await system.exited).toBe(2);
    expect(system.output()).toMatch(/HOST=0\.0\.0\.0 would expose the API .* without API keys/);
    expect(system.output()).not.toMatch(/running at/);
  });

  it('listens on every interface with API keys when HOST is unset', async () => {
    const system = start({ DROVER_API_KEYS: 'a-key-of-at-least-16-chars' });
    try {
      await eventually('the API url', async () => /running at (http:\/\/[\d.]+:\d+)/.exec(system.output())?.[1]);
      expect(system.output()).not.toMatch(/no DROVER_API_KEYS/);
      // The log line may be flushed after the banner (pino writes asynchronously).
      const line = await eventually('the "drover is running" log line', async () =>
        system
          .output()
          .split('\n')
          .find((l) => l.includes('"msg":"drover is running"')),
      );
      expect(line).toMatch(/"host":"0\.0\.0\.0"/);
    } finally {
      system.child.kill('SIGTERM');
      await system.exited;
    }
  });
});
