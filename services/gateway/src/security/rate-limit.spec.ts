import { afterEach, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { INestApplication } from '@nestjs/common';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger } from '@drover/runtime';
import { createGatewayApp } from '../gateway.module';
import { RateLimiter } from './rate-limit';

/** Past the end of the window the limiter reported (its own clock decides; the margin covers timer rounding). */
const pastWindow = (msBeforeNext: number) => sleep(msBeforeNext + 50);

describe('rate-limit window reset', () => {
  const apps: { app: INestApplication; bus: InMemoryBus }[] = [];
  afterEach(async () => {
    for (const { app, bus } of apps.splice(0)) {
      await app.close();
      await bus.close();
    }
  });

  it('accepts a client again once the window that rejected it has passed, with a full budget', async () => {
    const limiter = new RateLimiter({ points: 2, durationS: 1 }, silentLogger());
    expect((await limiter.take('c-1')).allowed).toBe(true);
    expect((await limiter.take('c-1')).allowed).toBe(true);
    const rejected = await limiter.take('c-1');
    expect(rejected.allowed).toBe(false);
    assert.ok(rejected.state, 'a rejection says when the window ends');
    expect(rejected.state.msBeforeNext).toBeGreaterThan(0);
    expect(rejected.state.msBeforeNext).toBeLessThanOrEqual(1_000);
    // Another client's budget is its own.
    expect((await limiter.take('c-2')).allowed).toBe(true);

    await pastWindow(rejected.state.msBeforeNext);
    const first = await limiter.take('c-1');
    expect(first.allowed).toBe(true);
    expect(first.state?.remainingPoints).toBe(1);
    expect((await limiter.take('c-1')).allowed).toBe(true);
    // And the new window is enforced like the first.
    expect((await limiter.take('c-1')).allowed).toBe(false);
  });

  it('answers 429 until Retry-After has passed, then the gateway serves the client again', async () => {
    const bus = new InMemoryBus(DROVER_TOPOLOGY);
    const app = await createGatewayApp({
      bus,
      logger: silentLogger(),
      config: { commandTimeoutMs: 50, queryTimeoutMs: 50 },
      security: { rateLimit: { points: 1, durationS: 1 } },
    });
    apps.push({ app, bus });
    await app.listen(0, '127.0.0.1');
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/api/agents/x`;

    // Nobody answers on the bus: a request that passes the limiter is a 503.
    expect((await fetch(url)).status).toBe(503);
    const limited = await fetch(url);
    expect(limited.status).toBe(429);
    const retryAfterS = Number(limited.headers.get('retry-after'));
    expect(retryAfterS).toBe(1);
    const resetS = Number(limited.headers.get('ratelimit-reset'));
    expect(resetS).toBeLessThanOrEqual(1);

    await pastWindow(retryAfterS * 1_000);
    const again = await fetch(url);
    expect(again.status).toBe(503);
    expect(again.headers.get('ratelimit-remaining')).toBe('0');
    expect((await fetch(url)).status).toBe(429);
  });
});
