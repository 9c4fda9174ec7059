import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { ScreenshotStore } from '@drover/platform';
import { silentLogger } from '@drover/runtime';
import { createGatewayApp } from '../gateway.module';

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

describe('GET /api/agents/{id}/screenshots', () => {
  const root = mkdtempSync(join(tmpdir(), 'drover-gateway-shots-'));
  const screenshots = new ScreenshotStore(root, 10);
  const bus = new InMemoryBus(DROVER_TOPOLOGY);
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    app = await createGatewayApp({
      bus,
      logger: silentLogger(),
      config: { commandTimeoutMs: 50, queryTimeoutMs: 50 },
      screenshots,
    });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await bus.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves each listed screenshot at the url the list gives', async () => {
    await screenshots.save('shot-1', PNG, 'after login', new Date(Date.UTC(2026, 0, 1)));
    const list = (await (await fetch(`${url}/api/agents/shot-1/screenshots`)).json()) as {
      items: { name: string; url: string }[];
    };
    expect(list.items).toHaveLength(1);
    const res = await fetch(`${url}${list.items[0]!.url}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([...PNG]);
  });

  it('answers 404 for a screenshot that is not there, and 400 naming the field for a bad name', async () => {
    const missing = await fetch(`${url}/api/agents/shot-1/screenshots/20250101T000000000Z.png`);
    expect(missing.status).toBe(404);
    const bad = await fetch(`${url}/api/agents/shot-1/screenshots/..%2F..%2Fdrover.sqlite`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toMatch(/name/);
  });

  it('refuses agent ids that start with a dot', async () => {
    const res = await fetch(`${url}/api/agents/.hidden/screenshots`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toMatch(/agentId/);
  });
});
