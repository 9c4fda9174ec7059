import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureServer {
  /** e.g. `http://127.0.0.1:43121` (no trailing slash). */
  readonly base: string;
  readonly server: Server;
  /** Requests seen, as `METHOD path`. */
  readonly requests: string[];
  /**
   * The first request seen after this call that matches (`METHOD path`, exactly or by RegExp):
   * call it before whatever makes the request. Rejects after `timeoutMs`.
   */
  nextRequest(match: string | RegExp, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

interface RequestWaiter {
  matches(request: string): boolean;
  resolve(request: string): void;
}

/** A node:http server on 127.0.0.1 and a free port, for pages a browser test loads. */
export async function startFixtureServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): Promise<FixtureServer> {
  const requests: string[] = [];
  let waiters: RequestWaiter[] = [];
  const server = createServer((req, res) => {
    const request = `${req.method} ${req.url}`;
    requests.push(request);
    const due = waiters.filter((waiter) => waiter.matches(request));
    waiters = waiters.filter((waiter) => !due.includes(waiter));
    for (const waiter of due) waiter.resolve(request);
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    server,
    requests,
    nextRequest: (match, timeoutMs = 30_000) =>
      new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`no request ${String(match)} within ${timeoutMs} ms (seen: ${requests.join(', ')})`));
        }, timeoutMs);
        const waiter: RequestWaiter = {
          matches: (request) => (typeof match === 'string' ? request === match : match.test(request)),
          resolve: (request) => {
            clearTimeout(timer);
            resolve(request);
          },
        };
        waiters.push(waiter);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends an HTML page. */
export function sendHtml(res: ServerResponse, html: string, status = 200): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

/** HTML-escapes text for a fixture page. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
