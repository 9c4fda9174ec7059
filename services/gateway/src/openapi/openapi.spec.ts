import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { INestApplication } from '@nestjs/common';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger } from '@drover/runtime';
import { createGatewayApp } from '../gateway.module';

type Json = Record<string, unknown>;
const API_KEY = 'k'.repeat(32);

/** `METHOD /path/{param}` of every route the express app serves (Nest registers each on its router). */
function servedRoutes(app: INestApplication): string[] {
  const router = (app.getHttpAdapter().getInstance() as { router: { stack: { route?: unknown }[] } }).router;
  return router.stack.flatMap((layer) => {
    const route = layer.route as { path: string; methods: Record<string, boolean> } | undefined;
    if (!route) return [];
    const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    return Object.keys(route.methods).map((method) => `${method.toUpperCase()} ${path}`);
  });
}

describe('the API describes itself', () => {
  const bus = new InMemoryBus(DROVER_TOPOLOGY);
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    app = await createGatewayApp({
      bus,
      logger: silentLogger(),
      config: { commandTimeoutMs: 50, queryTimeoutMs: 50 },
      security: { apiKeys: [API_KEY] },
    });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await bus.close();
  });

  const document = async (): Promise<Json> => (await (await fetch(`${url}/openapi.json`)).json()) as Json;

  it('serves a valid OpenAPI 3.1 document without an API key', async () => {
    const res = await fetch(`${url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const doc = (await res.json()) as Json;
    expect(doc.openapi).toBe('3.1.0');
    // Throws, naming the problem, on a document that breaks the OpenAPI 3.1 schema or its rules.
    await SwaggerParser.validate(structuredClone(doc) as never);
  });

  it('describes every route the gateway serves, and none it does not', async () => {
    const paths = (await document()).paths as Record<string, Record<string, unknown>>;
    const described = Object.entries(paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const served = servedRoutes(app);
    expect(served.length).toBeGreaterThanOrEqual(14);
    expect([...new Set(served)].sort()).toEqual([...new Set(described)].sort());
  });

  it('names the fields and errors of a start, from the same schemas the gateway validates with', async () => {
    const paths = (await document()).paths as Record<string, Record<string, Json>>;
    const start = paths['/api/agents']!.post!;
    expect(Object.keys(start.responses as Json).sort()).toEqual(['202', '400', '401', '409', '413', '429', '503']);
    const body = JSON.stringify(start.requestBody);
    for (const field of ['agentId', 'behavior', 'config', 'proxy', 'schedule', 'egress'])
      expect(body).toContain(`"${field}"`);
  });

  it('lists the behaviours with the JSON Schema of their config, secret fields marked', async () => {
    const unauthorised = await fetch(`${url}/api/behaviors`);
    expect(unauthorised.status).toBe(401);
    const res = await fetch(`${url}/api/behaviors`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const { items } = (await res.json()) as { items: { name: string; requires: string[]; configSchema: Json }[] };
    expect(items.map((b) => b.name).sort()).toEqual(['http-monitor', 'page-monitor', 'scripted', 'social-feed']);
    const feed = items.find((b) => b.name === 'social-feed')!;
    expect(feed.requires).toEqual(['browser']);
    const properties = feed.configSchema.properties as Record<string, Json>;
    expect(properties.password).toMatchObject({ type: 'string', writeOnly: true, 'x-drover-secret': true });
    expect(properties.username).not.toHaveProperty('x-drover-secret');
    const scripted = JSON.stringify(items.find((b) => b.name === 'scripted')!.configSchema);
    expect(scripted).toContain('"x-drover-secret":"when secret is true"');
    const monitor = JSON.stringify(items.find((b) => b.name === 'http-monitor')!.configSchema);
    expect(monitor).not.toContain('x-drover-secret');
  });

  it('serves the interactive page and its assets from the gateway itself, never from a CDN', async () => {
    const page = await fetch(`${url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThanOrEqual(4);
    for (const source of sources) {
      expect(source.startsWith('/docs/')).toBe(true);
      const asset = await fetch(`${url}${source}`);
      expect([source, asset.status]).toEqual([source, 200]);
      await asset.arrayBuffer();
    }
    expect(await (await fetch(`${url}/docs/drover-init.js`)).text()).toContain("url: '/openapi.json'");
    expect((await fetch(`${url}/docs/package.json`)).status).toBe(404);
  });
});
