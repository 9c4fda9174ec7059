import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import type { Logger } from '@drover/runtime';
import { eventually, http, SseClient } from '@drover/testing';
import { createGatewayApp } from '../gateway.module';

/**
 * The gateway's access log and request ids, on a bus whose read side answers `not_found` (no
 * persistence agent needed): what an operator greps for when a user quotes an X-Request-Id.
 */
describe('gateway access log and request ids', () => {
  const lines: Record<string, unknown>[] = [];
  const logger: Logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const bus = new InMemoryBus(DROVER_TOPOLOGY);
  let app: INestApplication;
  let url: string;
  const access = (requestId: string) =>
    lines.filter((line) => line.component === 'access' && line.requestId === requestId);

  beforeAll(async () => {
    await bus.subscribe('persistence.tasks', async (delivery) => {
      await delivery.reply?.({ ok: false, error: { code: 'not_found', message: 'not found' } });
    });
    app = await createGatewayApp({ bus, logger, config: { commandTimeoutMs: 500, queryTimeoutMs: 500 } });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await bus.close();
  });

  it('logs method, route pattern, redacted path, status and duration under the request id', async () => {
    const answer = await http(`${url}/api/agents/agent-7?token=s3cret&limit=5`, {
      headers: { 'X-Request-Id': 'req-log-1' },
    });
    expect(answer.status).toBe(404);
    expect(answer.headers.get('x-request-id')).toBe('req-log-1');
    const [line] = await eventually('the access line', async () => {
      const found = access('req-log-1');
      return found.length ? found : undefined;
    });
    expect(line).toMatchObject({
      msg: 'request completed',
      route: '/api/agents/:agentId',
      req: { method: 'GET', path: '/api/agents/agent-7?token=***&limit=5' },
      res: { statusCode: 404 },
    });
    expect(typeof line!.durationMs).toBe('number');
    expect(JSON.stringify(lines)).not.toContain('s3cret');
  });

  it('logs a live stream once, when it closes', async () => {
    const stream = await SseClient.open(`${url}/api/events`, { 'X-Request-Id': 'req-log-sse' });
    expect(stream.status).toBe(200);
    expect(stream.headers?.get('x-request-id')).toBe('req-log-sse');
    expect(access('req-log-sse')).toEqual([]);
    await stream.close();
    const [line] = await eventually('the stream logged', async () => {
      const found = access('req-log-sse');
      return found.length ? found : undefined;
    });
    expect(line).toMatchObject({ route: '/api/events', res: { statusCode: 200 } });
  });

  it('makes a request id when none is sent, and refuses a malformed one naming the header', async () => {
    const made = await http(`${url}/api/commands/c-1`);
    const id = made.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await eventually('logged under it', async () => (access(id!).length ? true : undefined));
    const bad = await http(`${url}/api/commands/c-1`, { headers: { 'X-Request-Id': 'has a space' } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { details: [{ field: 'X-Request-Id' }] } });
  });

  it('sends the request id as the correlationId of the command it publishes', async () => {
    const seen: unknown[] = [];
    await bus.subscribe('engine.commands', async (delivery) => {
      seen.push(delivery.body);
      await delivery.reply?.({
        ok: false,
        commandId: 'x',
        agentId: 'a-9',
        error: { code: 'agent_not_found', message: 'no' },
      });
    });
    const stop = await http(`${url}/api/agents/a-9`, { method: 'DELETE', headers: { 'X-Request-Id': 'req-stop-9' } });
    expect(stop.status).toBe(404);
    expect(seen).toEqual([
      expect.objectContaining({ type: 'agent.stop', agentId: 'a-9', correlationId: 'req-stop-9' }),
    ]);
  });
});
