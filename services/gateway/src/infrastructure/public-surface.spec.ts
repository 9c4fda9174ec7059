import { afterEach, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { BusDecorator, DROVER_TOPOLOGY, MessageTooLargeError, Queues, type Bus } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import type { Logger } from '@drover/runtime';
import { createGatewayApp } from '../gateway.module';

/** What a broker or store adapter says when it fails: hosts, ports, credentials. */
const BROKER_ERROR = 'connect ECONNREFUSED 10.1.2.3:5672';
const STORE_ERROR = 'MongoServerSelectionError: mongodb://user:pw@mongo:27017 unreachable';
const INTERNALS = /10\.1\.2\.3|5672|mongodb:|user:pw|ECONNREFUSED|27017/;

/** A bus whose every request fails with a broker error, as RabbitMQ's adapter does when the broker is away. */
class BrokenBus extends BusDecorator {
  override request<T>(): Promise<T> {
    return Promise.reject(new Error(BROKER_ERROR));
  }
  override ping(): Promise<void> {
    return Promise.reject(new Error(BROKER_ERROR));
  }
}

const logLines: string[] = [];
const logger: Logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
const running: { app: INestApplication; bus: Bus }[] = [];

async function gateway(bus: Bus): Promise<string> {
  const app = await createGatewayApp({ bus, logger, config: { commandTimeoutMs: 200, queryTimeoutMs: 200 } });
  await app.listen(0, '127.0.0.1');
  running.push({ app, bus });
  return `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const { app, bus } of running.splice(0)) {
    await app.close();
    await bus.close();
  }
  logLines.length = 0;
});

describe('gateway: X-Content-Type-Options', () => {
  it('is nosniff on JSON answers, errors, 404s, unreadable bodies and too large bodies', async () => {
    const url = await gateway(new InMemoryBus(DROVER_TOPOLOGY));
    const calls: [string, RequestInit][] = [
      ['/live', {}],
      ['/api/agents/x', {}], // nobody answers: 503
      ['/api/agents/-x', {}], // 400
      ['/no/such/route', {}], // 404
      ['/api/agents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' }],
      [
        '/api/agents',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: `"${'x'.repeat(300_000)}"` },
      ],
      ['/api/agents', { method: 'PUT' }],
    ];
    const statuses: number[] = [];
    for (const [path, init] of calls) {
      const res = await fetch(`${url}${path}`, init);
      statuses.push(res.status);
      expect(`${path} ${res.headers.get('x-content-type-options')}`).toBe(`${path} nosniff`);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
    expect(statuses).toEqual([200, 503, 400, 404, 400, 413, 404]);
  });
});

describe('gateway: 503 answers', () => {
  it('say the bus is not reachable without echoing the broker error, which is logged', async () => {
    const url = await gateway(new BrokenBus(new InMemoryBus(DROVER_TOPOLOGY)));
    const answers = await Promise.all([
      fetch(`${url}/api/agents/a1`),
      fetch(`${url}/api/agents`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          agentId: 'a1',
          behavior: 'http-monitor',
          config: { url: 'http://127.0.0.1:1/', intervalMs: 1000 },
        }),
      }),
      fetch(`${url}/api/agents/a1`, { method: 'DELETE' }),
    ]);
    for (const res of answers) {
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(text).not.toMatch(INTERNALS);
      expect(JSON.parse(text)).toEqual({ error: { code: 'unavailable', message: 'the bus is not reachable' } });
    }
    expect(logLines.join('')).toContain(BROKER_ERROR);
  });

  it('give a generic reason when the read side fails with its store error', async () => {
    const bus = new InMemoryBus(DROVER_TOPOLOGY);
    await bus.subscribe(Queues.persistenceTasks, async (delivery) => {
      await delivery.reply?.({ ok: false, error: { code: 'internal', message: STORE_ERROR } });
    });
    const url = await gateway(bus);
    const res = await fetch(`${url}/api/agents/a1`);
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(text).not.toMatch(INTERNALS);
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'the read side failed; try again' } });
    expect(logLines.join('')).toContain(STORE_ERROR);
  });
});

describe('gateway: size limits', () => {
  const post = (url: string, body: string) =>
    fetch(`${url}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('answers 413 with a JSON body for a body over 256 KiB', async () => {
    const url = await gateway(new InMemoryBus(DROVER_TOPOLOGY));
    const res = await post(url, JSON.stringify({ agentId: 'a1', behavior: 'x', config: { t: 'x'.repeat(300_000) } }));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: { code: 'payload_too_large', message: 'the request body exceeds 256 KiB' },
    });
  });

  it('answers 400 naming config for a config over 64 KiB or nested too deep', async () => {
    const url = await gateway(new InMemoryBus(DROVER_TOPOLOGY));
    const deep = `${'['.repeat(50_000)}1${']'.repeat(50_000)}`; // built as text: JSON.stringify would overflow
    for (const config of [JSON.stringify({ t: 'x'.repeat(100_000) }), `{"deep":${deep}}`]) {
      const res = await post(url, `{"agentId":"a1","behavior":"scripted","config":${config}}`);
      const body = (await res.json()) as { error: { code: string; details: { field: string; message: string }[] } };
      expect(res.status).toBe(400);
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.details).toContainEqual({
        field: 'config',
        message: expect.stringMatching(/bytes as JSON|nests deeper/),
      });
    }
  });
});

describe('gateway: a request the bus would not carry', () => {
  it('is a 413 naming its size, not an outage', async () => {
    /** A bus that refuses every message as too large, as the adapters do above 1 MiB. */
    class NarrowBus extends BusDecorator {
      override request<T>(exchange: string, routingKey: string): Promise<T> {
        return Promise.reject(new MessageTooLargeError(exchange, routingKey, 2_000_000, 1_048_576));
      }
    }
    const url = await gateway(new NarrowBus(new InMemoryBus(DROVER_TOPOLOGY)));
    for (const res of [
      await fetch(`${url}/api/agents/a1`),
      await fetch(`${url}/api/agents/a1`, { method: 'DELETE' }),
    ]) {
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({
        error: { code: 'payload_too_large', message: 'the request is 2000000 bytes as a message, more than 1048576' },
      });
    }
  });
});
