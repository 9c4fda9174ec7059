import { expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createTestVhost, describeUnless, skipUnlessCi } from '@drover/testing';

const repo = resolve(__dirname, '../..');
const RABBITMQ_URL = process.env.RABBITMQ_URL;
const LONG_RUNNING = ['gateway', 'engine', 'session-agent', 'persistence-agent', 'scheduler'];
// Tracing six file sets and starting six services, on a loaded CI machine.
const TIMEOUT_MS = 5 * 60_000;

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done, reject) => {
    const child = spawn(command, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS - 10_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

/**
 * The container rehearsal without Docker (deploy/rehearse/rehearse.sh): every runtime
 * target's file set, run as an unprivileged user, answers /live and stops cleanly on SIGTERM.
 */
const root = process.getuid?.() === 0;
const skip =
  skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set') ||
  skipUnlessCi(!root && 'the rehearsal needs root to drop to uid 65534');

describeUnless(skip, 'deploy rehearsal without Docker', () => {
  it(
    'assembles, sizes and runs every service from its runtime file set',
    async () => {
      const vhost = await createTestVhost(RABBITMQ_URL ?? '', 'drover-rehearse');
      try {
        const { code, output } = await run('bash', ['deploy/rehearse/rehearse.sh', 'all'], {
          ...process.env,
          RABBITMQ_URL: vhost.url,
        });
        assert.equal(code, 0, output);
        assert.match(output, /^bootstrap: size \d+ MB, node_modules \d+ MB/m, output);
        assert.match(output, /^bootstrap: ran as uid 65534, exit 0/m, output);
        for (const service of LONG_RUNNING) {
          assert.match(output, new RegExp(`^${service}: size \\d+ MB, node_modules \\d+ MB`, 'm'), output);
          assert.match(output, new RegExp(`^${service}: live ok`, 'm'), output);
          assert.match(output, new RegExp(`^${service}: SIGTERM → exit 0`, 'm'), output);
        }
        expect(output).toMatch(/^gateway: the drover CLI runs from its file set/m);
        // Each service carries its own dependencies only: no browser driver outside the session agent.
        expect(output).toMatch(/no dev dependency, no native build tree, puppeteer only in the session agent/);
        expect(output).toMatch(/rehearsal passed/);
      } finally {
        await vhost.delete();
      }
    },
    TIMEOUT_MS,
  );
});
