import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger } from '@drover/runtime';
import { createGatewayApp } from '../gateway.module';
import { ConsoleFiles } from './console-files';

const API_KEY = 'c'.repeat(32);
/** The console's real page; the bundle it names is faked (the unit level does not build it). */
const PAGE = join(__dirname, '../../console/index.html');

async function gateway(consoleDir: string): Promise<{ app: INestApplication; url: string; bus: InMemoryBus }> {
  const bus = new InMemoryBus(DROVER_TOPOLOGY);
  const app = await createGatewayApp({
    bus,
    logger: silentLogger(),
    config: { commandTimeoutMs: 50, queryTimeoutMs: 50 },
    security: { apiKeys: [API_KEY] },
    consoleFiles: new ConsoleFiles(consoleDir),
  });
  await app.listen(0, '127.0.0.1');
  return { app, bus, url: `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}` };
}

describe('the gateway serves the web console', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-console-'));
  let served: Awaited<ReturnType<typeof gateway>>;

  beforeAll(async () => {
    copyFileSync(PAGE, join(dir, 'index.html'));
    writeFileSync(join(dir, 'console.js'), 'document.title = "x";');
    writeFileSync(join(dir, 'console.css'), 'body { margin: 0 }');
    writeFileSync(join(dir, 'notes.txt'), 'not part of the bundle');
    served = await gateway(dir);
  });
  afterAll(async () => {
    await served.app.close();
    await served.bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page without a key, under a strict Content-Security-Policy', async () => {
    const res = await fetch(`${served.url}/console`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp.split('; ')).toEqual(expect.arrayContaining(["default-src 'self'", "object-src 'none'"]));
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    // No inline script or style: every script and style sheet is a file of the bundle.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.sort()).toEqual(['/console/console.css', '/console/console.js']);
    for (const source of sources) {
      const asset = await fetch(`${served.url}${source}`);
      expect([source, asset.status]).toEqual([source, 200]);
      expect(asset.headers.get('content-security-policy')).toContain("default-src 'self'");
      await asset.arrayBuffer();
    }
    expect((await fetch(`${served.url}/console/console.js`)).headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('serves only the bundle: other files, unknown names and paths out of it are 404', async () => {
    // With the key, so every path reaches the console's routes (an encoded slash is no console path).
    const headers = { authorization: `Bearer ${API_KEY}` };
    for (const path of [
      '/console/notes.txt',
      '/console/nope.js',
      '/console/..%2Fpackage.json',
      '/console/.hidden.js',
    ]) {
      const res = await fetch(`${served.url}${path}`, { headers });
      expect([path, res.status]).toEqual([path, 404]);
      expect([path, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([path, 'not_found']);
    }
  });

  it('opens no API call: the console itself sends the key', async () => {
    expect((await fetch(`${served.url}/api/agents`)).status).toBe(401);
    const ok = await fetch(`${served.url}/api/behaviors`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(ok.status).toBe(200);
  });

  it('says how to build the console when its bundle is missing', async () => {
    const empty = await gateway(join(dir, 'not-built'));
    try {
      const res = await fetch(`${empty.url}/console`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain('npm run build');
    } finally {
      await empty.app.close();
      await empty.bus.close();
    }
  });
});
