import { afterEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import type { Logger } from '@drover/runtime';
import { DroverMetrics } from './metrics';
import { startOpsServer, type OpsServer } from './ops-server';

const logLines: string[] = [];
const logger: Logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
const servers: OpsServer[] = [];

async function ops(checks: Record<string, () => Promise<void>>): Promise<string> {
  const server = await startOpsServer({
    port: 0,
    host: '127.0.0.1',
    checks,
    metrics: new DroverMetrics('test'),
    logger,
  });
  servers.push(server);
  return server.url;
}

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  logLines.length = 0;
});

describe('ops server', () => {
  it('answers /live, /ready, /metrics and 404s with nosniff', async () => {
    const url = await ops({ bus: async () => undefined });
    for (const [path, status] of [
      ['/live', 200],
      ['/ready', 200],
      ['/metrics', 200],
      ['/nope', 404],
    ] as const) {
      const res = await fetch(`${url}${path}`);
      expect(`${path} ${res.status} ${res.headers.get('x-content-type-options')}`).toBe(`${path} ${status} nosniff`);
    }
  });

  it('answers 503 naming the failing check without the error, which is logged', async () => {
    const url = await ops({
      bus: () => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:5672')),
      store: async () => undefined,
    });
    const res = await fetch(`${url}/ready`);
    const text = await res.text();
    expect(res.status).toBe(503);
    expect(text).not.toMatch(/10\.1\.2\.3|ECONNREFUSED/);
    expect(JSON.parse(text)).toEqual({
      error: { code: 'not_ready', message: 'not ready: bus down', details: { bus: 'down', store: 'ok' } },
    });
    expect(logLines.join('')).toContain('ECONNREFUSED 10.1.2.3:5672');
  });
});
