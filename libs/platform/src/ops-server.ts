import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withTimeout, type Logger } from '@drover/runtime';
import type { DroverMetrics } from './metrics';

export type ReadinessCheck = () => Promise<void>;

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2_000;

/**
 * `/live`, `/ready` and `/metrics` of a service that has no HTTP API of its own. `/ready` runs
 * every check and answers 503 naming each one that failed.
 */
export async function startOpsServer(options: {
  port: number;
  host: string;
  checks: Record<string, ReadinessCheck>;
  metrics: DroverMetrics;
  logger: Logger;
}): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: { code: 'method_not_allowed', message: 'GET only' } });
    if (path === '/live') return send(200, { status: 'ok' });
    if (path === '/ready') {
      void readiness(options.checks, options.logger).then(({ ok, checks }) =>
        ok
          ? send(200, { status: 'ok', checks })
          : send(503, { error: { code: 'not_ready', message: failing(checks), details: checks } }),
      );
      return;
    }
    if (path === '/metrics') {
      void options.metrics.registry.metrics().then(
        (text) => send(200, text, options.metrics.registry.contentType),
        (error: Error) => {
          options.logger.error({ err: error.message }, 'metrics failed');
          send(500, { error: { code: 'internal', message: 'internal error' } });
        },
      );
      return;
    }
    send(404, { error: { code: 'not_found', message: `no route ${path}` } });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}`;
  options.logger.info({ url }, 'ops endpoints listening');
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Each check is `ok` or `down`; why it is down (hosts, URLs, driver messages) is logged, not answered. */
async function readiness(checks: Record<string, ReadinessCheck>, logger: Logger) {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), CHECK_TIMEOUT_MS, 'the check');
        return [name, 'ok'] as const;
      } catch (error) {
        logger.warn({ check: name, err: (error as Error).message }, 'readiness check failed');
        return [name, 'down'] as const;
      }
    }),
  );
  return { ok: results.every(([, state]) => state === 'ok'), checks: Object.fromEntries(results) };
}

function failing(checks: Record<string, string>): string {
  const down = Object.entries(checks).filter(([, state]) => state !== 'ok');
  return `not ready: ${down.map(([name, state]) => `${name} ${state}`).join('; ')}`;
}
