import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { resolve } from 'node:path';

/** Servers the integration tests use when they answer on their standard local ports. */
const LOCAL_SERVERS = [
  { env: 'RABBITMQ_URL', port: 5672, url: 'amqp://guest:guest@127.0.0.1:5672' },
  { env: 'REDIS_URL', port: 6379, url: 'redis://127.0.0.1:6379' },
  { env: 'MONGO_URL', port: 27017, url: 'mongodb://127.0.0.1:27017' },
] as const;

/** The levels whose tests start the built services as child processes. */
const LEVELS_THAT_RUN_PROCESSES = new Set(['int', 'e2e']);

function answers(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port, timeout: 500 });
    const finish = (open: boolean) => {
      socket.destroy();
      done(open);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.once('timeout', () => finish(false));
  });
}

/** The levels this run covers: `DROVER_TEST_LEVEL` (set by `npm run test:<level>`), else all. */
function levels(): string[] {
  return process.env.DROVER_TEST_LEVEL?.split(',') ?? ['unit', 'int', 'e2e'];
}

/**
 * Runs once per jest run, in jest's parent process (workers inherit its environment; jest runs a
 * global setup module once even when every project names it). Fills unset server URLs from
 * local servers, and compiles the services once for the levels that start them as processes,
 * so no stale `dist/` is ever started.
 */
export default async function globalSetup(): Promise<void> {
  // Chromium refuses its sandbox as root, and CI runs the tests as root: the test run opts out
  // explicitly (workers and the services the tests start inherit it), as an operator would.
  if (process.getuid?.() === 0 && process.env.CHROME_NO_SANDBOX === undefined) process.env.CHROME_NO_SANDBOX = 'true';
  for (const server of LOCAL_SERVERS) {
    if (!process.env[server.env] && (await answers(server.port))) process.env[server.env] = server.url;
  }
  if (levels().some((level) => LEVELS_THAT_RUN_PROCESSES.has(level))) {
    const root = resolve(__dirname, '../../../..');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  }
}
