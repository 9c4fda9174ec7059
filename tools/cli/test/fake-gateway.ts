import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type Handler = (request: Recorded, res: ServerResponse) => void | Promise<void>;

/**
 * A stand-in gateway for the CLI's unit tests: answers the routes a test scripts (`GET
 * /api/fleet`), records every request, and answers 404 `{error}` for anything else, as the
 * gateway does.
 */
export class FakeGateway {
  readonly requests: Recorded[] = [];
  private readonly routes = new Map<string, Handler>();
  private server?: Server;
  url = '';

  on(route: string, handler: Handler): this {
    this.routes.set(route, handler);
    return this;
  }

  /** A route answering `status` with a JSON body. */
  json(route: string, status: number, body: unknown): this {
    return this.on(route, (_req, res) => send(res, status, body));
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((done) => this.server?.close(done));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += (chunk as Buffer).toString();
    const url = new URL(req.url ?? '/', 'http://fake');
    const recorded: Recorded = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    };
    this.requests.push(recorded);
    const handler = this.routes.get(`${recorded.method} ${recorded.path}`);
    if (!handler) {
      send(res, 404, { error: { code: 'not_found', message: `no route ${recorded.method} ${recorded.path}` } });
      return;
    }
    await handler(recorded, res);
  }
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
