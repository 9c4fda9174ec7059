import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EgressPolicy } from '@drover/runtime';
import { LocalProxy, validateProxyUrl, type EgressRefusal } from './local-proxy';

describe('proxy URL validation', () => {
  it('accepts http, https and socks proxies only', () => {
    for (const ok of ['http://u:p@h:1', 'https://h:443', 'socks5://u:p@h:1080']) validateProxyUrl(ok);
    assert.throws(
      () => validateProxyUrl('ftp://u:secret@h:21'),
      (error: Error) => !error.message.includes('secret'),
    );
    assert.throws(() => validateProxyUrl('nonsense'));
  });
});

/** One request through the proxy: a GET in absolute form, or a CONNECT. */
function viaProxy(
  proxy: LocalProxy,
  method: 'GET' | 'CONNECT',
  target: string,
): Promise<{ status: number; body: string; header?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxy.port, method, path: target });
    req.on('connect', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        const header = res.headers['x-drover-egress'];
        resolve({ status: res.statusCode ?? 0, body, ...(typeof header === 'string' ? { header } : {}) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the local proxy endpoint enforces the egress policy', () => {
  let site: Server;
  let sitePort: number;
  let hits = 0;
  let proxy: LocalProxy;
  const refusals: EgressRefusal[] = [];

  beforeAll(async () => {
    site = createServer((_req, res) => {
      hits += 1;
      res.end('site');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    sitePort = (site.address() as AddressInfo).port;
    proxy = await LocalProxy.start(undefined, {
      egress: EgressPolicy.fromRules([`127.0.0.1:${sitePort}`]),
      onRefused: (refusal) => refusals.push(refusal),
      onFailure: (failure) => {
        throw new Error(`no upstream, so no proxy failure: ${failure.message}`);
      },
    });
  });
  afterAll(async () => {
    await proxy.close();
    await new Promise<void>((resolve) => site.close(() => resolve()));
  });

  it('passes an allowed request through', async () => {
    const answer = await viaProxy(proxy, 'GET', `http://127.0.0.1:${sitePort}/`);
    expect([answer.status, answer.body]).toEqual([200, 'site']);
  });

  it('tunnels an allowed CONNECT to a host-name rule’s target through the addresses it checked', async () => {
    const tunnel = await LocalProxy.start(undefined, {
      egress: EgressPolicy.fromRules([`localhost:${sitePort}`]),
    });
    try {
      const before = hits;
      const status = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: tunnel.port, method: 'CONNECT', path: `localhost:${sitePort}` });
        req.on('connect', (res, socket) => {
          if (res.statusCode !== 200) return resolve(`CONNECT ${res.statusCode}`);
          let answer = '';
          socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
          socket.on('end', () => resolve(answer.split('\r\n')[0] ?? ''));
          socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        });
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe('HTTP/1.1 200 OK');
      expect(hits).toBe(before + 1);
    } finally {
      await tunnel.close();
    }
  });

  it('answers a refused HTTP request with a 403 page that names the reason, and reports it', async () => {
    const before = hits;
    const answer = await viaProxy(proxy, 'GET', 'http://169.254.169.254/latest/meta-data/');
    expect(answer.status).toBe(403);
    expect(answer.header).toBe('refused');
    expect(answer.body).toContain('<title>egress refused: 169.254.169.254 is link-local (metadata)</title>');
    expect(refusals.at(-1)).toEqual({
      target: '169.254.169.254:80',
      reason: '169.254.169.254 is link-local (metadata)',
    });
    // The gateway's own port on the same loopback address is not the allowed site.
    const other = await viaProxy(proxy, 'GET', `http://localhost:${sitePort + 1}/metrics`);
    expect(other.status).toBe(403);
    expect(refusals.at(-1)?.reason).toMatch(/^localhost resolves to (127\.0\.0\.1|::1), which is loopback$/);
    expect(hits).toBe(before);
  });

  it('refuses a tunnel (HTTPS) to a forbidden address with a 403, before connecting', async () => {
    const answer = await viaProxy(proxy, 'CONNECT', '10.0.0.1:443');
    expect(answer.status).toBe(403);
    expect(refusals.at(-1)).toEqual({ target: '10.0.0.1:443', reason: '10.0.0.1 is private' });
  });
});
