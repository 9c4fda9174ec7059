import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { reportMissing } from '@drover/testing';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger } from '@drover/runtime';
import { createGatewayApp } from '../gateway.module';
import { digestKey } from './api-keys';

const REDIS_URL = process.env.REDIS_URL;
const KEY = 'int-spec-client-key-0123456789';
const POINTS = 5;

describe('gateway rate limits shared through Redis', () => {
  if (!REDIS_URL) {
    reportMissing('REDIS_URL is not set: run with REDIS_URL=redis://127.0.0.1:6379');
    return;
  }

  const redisUrl = REDIS_URL;
  // One prefix per run: parallel runs on one Redis never share counters.
  const keyPrefix = `drover-gw-test-${randomUUID()}`;
  const replicas: { url: string; app: INestApplication; bus: InMemoryBus; redis: Redis }[] = [];

  /** A gateway replica with its own bus and its own Redis connection, as in production. */
  async function replica(): Promise<string> {
    const redis = new Redis(redisUrl);
    await redis.ping(); // connected, so the limiter uses Redis and not its insurance
    const bus = new InMemoryBus(DROVER_TOPOLOGY);
    const app = await createGatewayApp({
      bus,
      logger: silentLogger(),
      config: { commandTimeoutMs: 50, queryTimeoutMs: 50 },
      security: { apiKeys: [KEY], rateLimit: { points: POINTS, durationS: 60, keyPrefix }, redis },
    });
    await app.listen(0, '127.0.0.1');
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    replicas.push({ url, app, bus, redis });
    return url;
  }

  let urls: string[] = [];
  beforeAll(async () => {
    urls = [await replica(), await replica()];
  });

  afterAll(async () => {
    const cleaner = replicas[0]?.redis;
    const leftovers = cleaner ? await cleaner.keys(`${keyPrefix}*`) : [];
    if (cleaner && leftovers.length) await cleaner.del(...leftovers);
    for (const { app, bus, redis } of replicas.splice(0)) {
      await app.close();
      await bus.close();
      if (redis.status !== 'end') await redis.quit();
    }
  });

  const call = (url: string, path = '/api/agents/x') => fetch(`${url}${path}`, { headers: { 'X-API-Key': KEY } });

  it('gives a client one budget across replicas', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < POINTS + 2; i++) {
      const res = await call(urls[i % 2]!);
      statuses.push(res.status);
      if (res.status === 429) {
        const retryAfter = Number(res.headers.get('retry-after'));
        assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
      }
    }
    expect(statuses).toEqual([...Array<number>(POINTS).fill(503), 429, 429]);
    // The counter lives in Redis under the key's digest, never the key.
    const counter = `${keyPrefix}:key:${digestKey(KEY).toString('hex')}`;
    expect(await replicas[0]!.redis.get(counter)).toBe(String(POINTS + 2));
    expect(await replicas[0]!.redis.keys(`*${KEY}*`)).toEqual([]);
  });

  it('does not limit the probes on either replica', async () => {
    for (const url of urls) {
      const res = await fetch(`${url}/live`);
      expect(res.status).toBe(200);
    }
  });

  it('keeps answering from the insurance limiter when its Redis connection is gone', async () => {
    const url = await replica();
    replicas.at(-1)!.redis.disconnect();
    const statuses: number[] = [];
    for (let i = 0; i < POINTS + 1; i++) statuses.push((await call(url)).status);
    // This replica's local budget is fresh: the outage neither fails nor blocks requests.
    expect(statuses).toEqual([...Array<number>(POINTS).fill(503), 429]);
  });
});
