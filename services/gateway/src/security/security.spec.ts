import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import pino from 'pino';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import type { Logger } from '@drover/runtime';
import { createGatewayApp, type GatewaySecurity } from '../gateway.module';
import { ApiKeys, presentedKey } from './api-keys';

const KEY = 'k3y-0f-the-first-client-0123456789abcdef';
const OTHER_KEY = 'another-client-key-fedcba9876543210';
const SAME_LENGTH_WRONG = KEY.replace(/.$/, (c) => (c === 'x' ? 'y' : 'x'));
const ALL_SECRETS = [KEY, OTHER_KEY, SAME_LENGTH_WRONG, 'short'];

/** Everything any gateway in this file logged, as written by pino. */
const logLines: string[] = [];
const logger: Logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });

interface Running {
  url: string;
  app: INestApplication;
  bus: InMemoryBus;
}
const running: Running[] = [];

/** A gateway whose bus nobody answers: `/api/agents/x` is a 503 after 50 ms. */
async function gateway(security: GatewaySecurity): Promise<string> {
  const bus = new InMemoryBus(DROVER_TOPOLOGY);
  const app = await createGatewayApp({
    bus,
    logger,
    config: { commandTimeoutMs: 50, queryTimeoutMs: 50 },
    security,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  running.push({ url, app, bus });
  return url;
}

afterEach(async () => {
  for (const { app, bus } of running.splice(0)) {
    await app.close();
    await bus.close();
  }
});

async function call(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as { error?: { code: string } }) : {},
  };
}

describe('gateway API keys', () => {
  const security = { apiKeys: [KEY, OTHER_KEY], rateLimit: { points: 1000, durationS: 60 } };

  it('answers 401 with WWW-Authenticate without a key, with a wrong key and with a wrong-length key', async () => {
    const url = await gateway(security);
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: `Bearer ${SAME_LENGTH_WRONG}` },
      { 'X-API-Key': SAME_LENGTH_WRONG },
      { Authorization: 'Bearer short' },
      { 'X-API-Key': `${KEY}-longer` },
      { Authorization: `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}` },
      { Authorization: 'Bearer' },
    ];
    for (const headers of attempts) {
      const res = await call(`${url}/api/agents/x`, headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      expect(res.headers.get('www-authenticate') ?? '').toMatch(/^Bearer\b/);
      expect(res.body.error?.code).toBe('unauthorized');
    }
    const post = await fetch(`${url}/api/agents`, { method: 'POST', body: '{"agentId":' });
    assert.equal(post.status, 401, 'checked before the body is parsed');
  });

  it('lets the right key through as a Bearer token or as X-API-Key', async () => {
    const url = await gateway(security);
    const accepted: Record<string, string>[] = [
      { Authorization: `Bearer ${KEY}` },
      { Authorization: `bearer ${OTHER_KEY}` },
      { 'X-API-Key': KEY },
      { 'X-API-Key': OTHER_KEY },
    ];
    for (const headers of accepted) {
      const res = await call(`${url}/api/agents/x`, headers);
      assert.equal(res.status, 503, `${JSON.stringify(res.body)} for ${Object.keys(headers)[0]}`);
      expect(res.body.error?.code).toBe('unavailable');
    }
    const invalid = await call(`${url}/api/agents?limit=0`, { 'X-API-Key': KEY });
    expect(invalid.status).toBe(400);
  });

  it('keeps /live open and closes every other path, whatever its case (/ready and /metrics are on the ops port)', async () => {
    const url = await gateway(security);
    expect((await call(`${url}/live`)).status).toBe(200);
    for (const path of ['/LIVE', '/live/']) {
      assert.notEqual((await call(`${url}${path}`)).status, 401, path);
    }
    for (const path of [
      '/API/agents/x',
      '/api',
      '/api/',
      '/Api/commands/c-1',
      '/nope',
      '/ready',
      '/metrics',
      '/health',
    ]) {
      assert.equal((await call(`${url}${path}`)).status, 401, path);
    }
  });

  it('refuses empty keys without naming them', async () => {
    const bus = new InMemoryBus(DROVER_TOPOLOGY);
    const build = (apiKeys: string[]) =>
      createGatewayApp({ bus, logger, config: { commandTimeoutMs: 50, queryTimeoutMs: 50 }, security: { apiKeys } });
    await assert.rejects(build([KEY, '']), /apiKeys\[1\]/);
    await assert.rejects(build([` ${KEY}`]), (error: Error) => !error.message.includes(KEY));
    await bus.close();
  });

  it('compares digests, so any presented length is handled', () => {
    const keys = new ApiKeys([KEY]);
    expect(keys.verify(KEY)).toBeTruthy();
    expect(keys.verify('')).toBe(undefined);
    expect(keys.verify(KEY.slice(0, -1))).toBe(undefined);
    expect(keys.verify(KEY.repeat(100))).toBe(undefined);
    expect(presentedKey({ authorization: `Bearer ${KEY}`, 'x-api-key': 'ignored' })).toBe(KEY);
    expect(presentedKey({ 'x-api-key': ` ${KEY} ` })).toBe(KEY);
  });
});

describe('gateway rate limits (in memory)', () => {
  it('answers 429 with Retry-After once a client has used its points', async () => {
    const url = await gateway({ rateLimit: { points: 3, durationS: 60 } });
    for (const remaining of ['2', '1', '0']) {
      const res = await call(`${url}/api/agents/x`);
      expect(res.status).toBe(503);
      expect(res.headers.get('ratelimit-limit')).toBe('3');
      expect(res.headers.get('ratelimit-remaining')).toBe(remaining);
      expect(res.headers.get('x-ratelimit-remaining')).toBe(remaining);
    }
    const limited = await call(`${url}/api/agents/x`);
    expect(limited.status).toBe(429);
    expect(limited.body.error?.code).toBe('rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    assert.equal((await call(`${url}/api/commands/c-1`)).status, 429, 'one budget for all of /api');
  });

  it('never limits /live', async () => {
    const url = await gateway({ rateLimit: { points: 1, durationS: 60 } });
    expect((await call(`${url}/api/agents/x`)).status).toBe(503);
    expect((await call(`${url}/api/agents/x`)).status).toBe(429);
    for (let i = 0; i < 5; i++) {
      for (const path of ['/live', '/LIVE', '/live/']) {
        const res = await call(`${url}${path}`);
        assert.notEqual(res.status, 429, path);
        assert.equal(res.headers.get('ratelimit-limit'), null, path);
      }
    }
  });

  it('gives each API key its own budget and counts failed attempts by IP', async () => {
    const url = await gateway({ apiKeys: [KEY, OTHER_KEY], rateLimit: { points: 2, durationS: 60 } });
    const first = { 'X-API-Key': KEY };
    expect((await call(`${url}/api/agents/x`, first)).status).toBe(503);
    expect((await call(`${url}/api/agents/x`, { Authorization: `Bearer ${KEY}` })).status).toBe(503);
    expect((await call(`${url}/api/agents/x`, first)).status).toBe(429);
    expect((await call(`${url}/api/agents/x`, { 'X-API-Key': OTHER_KEY })).status).toBe(503);
    expect((await call(`${url}/api/agents/x`, { 'X-API-Key': 'guess-1' })).status).toBe(401);
    expect((await call(`${url}/api/agents/x`, { 'X-API-Key': 'guess-2' })).status).toBe(401);
    expect((await call(`${url}/api/agents/x`, { 'X-API-Key': 'guess-3' })).status).toBe(429);
  });

  it('uses 100 requests per second when security is given without rateLimit', async () => {
    const url = await gateway({ apiKeys: [KEY] });
    const res = await call(`${url}/api/agents/x`, { 'X-API-Key': KEY });
    expect(res.headers.get('ratelimit-limit')).toBe('100');
    expect(res.headers.get('ratelimit-policy')).toBe('100;w=1');
  });

  it('has no limit and no authentication when security is omitted', async () => {
    const bus = new InMemoryBus(DROVER_TOPOLOGY);
    const app = await createGatewayApp({ bus, logger, config: { commandTimeoutMs: 50, queryTimeoutMs: 50 } });
    await app.listen(0, '127.0.0.1');
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    running.push({ url: '', app, bus });
    const res = await call(`http://127.0.0.1:${port}/api/agents/x`);
    expect(res.status).toBe(503);
    expect(res.headers.get('ratelimit-limit')).toBe(null);
  });

  it('falls back to the in-memory insurance limiter when Redis is not connected', async () => {
    // Never connects: `status` stays `wait`, as it would be `reconnecting` during an outage.
    const redis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false });
    try {
      const url = await gateway({ rateLimit: { points: 2, durationS: 60 }, redis });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await call(`${url}/api/agents/x`)).status);
      expect(statuses).toEqual([503, 503, 429]);
      expect(logLines.some((line) => line.includes('fall back'))).toBeTruthy();
    } finally {
      redis.disconnect();
    }
  });

  it('refuses budgets the limiter cannot keep', async () => {
    for (const rateLimit of [
      { points: 0, durationS: 1 },
      { points: 1.5, durationS: 1 },
      { points: 10, durationS: 0.5 },
    ]) {
      await assert.rejects(gateway({ rateLimit }), RangeError, JSON.stringify(rateLimit));
    }
  });
});

afterAll(() => {
  // Runs after every test above: 401s, 503s (logged as errors) and the Redis fallback all logged.
  const output = logLines.join('');
  assert.ok(output.includes('request failed'), 'the 503s were logged');
  for (const secret of ALL_SECRETS) {
    assert.ok(!output.includes(secret), 'an API key reached the logs');
  }
});
