import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server, SOCKS_PROTOCOLS } from 'proxy-chain';
import { redactCredentials, redactProxyUrl, urlSecrets } from '@drover/contracts';

export interface ProxyFailure {
  /** The error's class (`RequestError`, `Error`, ...) or `UpstreamStatus` when only a status line is known. */
  errorClass: string;
  /** Human-readable; never contains the upstream credentials. */
  message: string;
}

const UPSTREAM_PROTOCOLS = ['http:', 'https:', ...SOCKS_PROTOCOLS];

/** Throws (with a redacted message) unless the proxy URL is http(s)/socks with a host and port. */
export function validateProxyUrl(proxy: string): void {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    throw new Error(`invalid proxy URL ${redactProxyUrl(proxy)}`);
  }
  if (!UPSTREAM_PROTOCOLS.includes(url.protocol) || !url.hostname) {
    throw new Error(`unsupported proxy URL ${redactProxyUrl(proxy)} (use http, https or socks5 with a host)`);
  }
}

const reported = new WeakSet<object>();

/**
 * proxy-chain reports few upstream failures as events: HTTP requests failing with a RequestError (e.g. upstream 407
 * -> 597) only answer the client, CONNECT failures only write a status line to the socket. This subclass hooks those
 * places and reports each failed request (or tunnel) once.
 */
class ReportingServer extends Server {
  constructor(
    port: number,
    private readonly upstream: string,
    private readonly report: (failure: ProxyFailure) => void,
  ) {
    super({ port, host: '127.0.0.1', verbose: false, prepareRequestFunction: () => ({ upstreamProxyUrl: upstream }) });
  }

  override failRequest(request: IncomingMessage, error: NodeJS.ErrnoException): void {
    const status = (error as { statusCode?: unknown }).statusCode;
    const errorClass = error.name === 'RequestError' ? 'RequestError' : error.constructor.name || error.name;
    this.reportOnce(request, {
      errorClass,
      message: typeof status === 'number' ? `${error.message} (status ${status})` : error.message,
    });
    if (request.socket) reported.add(request.socket);
    super.failRequest(request, error);
  }

  override async onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    response.once('finish', () => {
      // proxy-chain answers upstream connection failures with its own 590-599 statuses.
      if (response.statusCode >= 590 && response.statusCode <= 599) {
        this.reportOnce(request, {
          errorClass: 'UpstreamStatus',
          message: `upstream proxy failed: ${response.statusCode} ${response.statusMessage}`,
        });
      }
    });
    return super.onRequest(request, response);
  }

  override async onConnect(
    request: IncomingMessage,
    socket: Duplex & { end: Duplex['end'] },
    head: Buffer,
  ): Promise<void> {
    const end = socket.end.bind(socket) as (...args: unknown[]) => Duplex;
    (socket as { end: (...args: unknown[]) => Duplex }).end = (...args: unknown[]) => {
      const first = args[0];
      const text = typeof first === 'string' ? first : Buffer.isBuffer(first) ? first.toString('latin1', 0, 200) : '';
      const match = /^HTTP\/1\.[01] (\d{3}) ([^\r\n]*)/.exec(text);
      if (match && Number(match[1]) >= 400 && !reported.has(socket)) {
        reported.add(socket);
        this.reportOnce(request, {
          errorClass: 'UpstreamStatus',
          message: `upstream proxy failed: ${match[1]} ${match[2] ?? ''}`.trim(),
        });
      }
      return end(...args);
    };
    return super.onConnect(request, socket as never, head);
  }

  private reportOnce(request: IncomingMessage, failure: ProxyFailure): void {
    if (reported.has(request)) return;
    reported.add(request);
    const secrets = urlSecrets(this.upstream);
    this.report({ errorClass: failure.errorClass, message: redactCredentials(failure.message, secrets) });
  }
}

/** A credential-free local HTTP proxy on 127.0.0.1 (OS-assigned port) that chains to one upstream proxy. */
export class LocalProxy {
  private constructor(
    private readonly server: ReportingServer,
    /** `http://127.0.0.1:<port>`, what the browser context is given. */
    readonly url: string,
    /** The upstream with credentials redacted, for logs. */
    readonly upstreamRedacted: string,
  ) {}

  static async start(upstream: string, onFailure: (failure: ProxyFailure) => void): Promise<LocalProxy> {
    validateProxyUrl(upstream);
    const server = new ReportingServer(0, upstream, onFailure);
    await server.listen();
    return new LocalProxy(server, `http://127.0.0.1:${server.port}`, redactProxyUrl(upstream));
  }

  get port(): number {
    return this.server.port;
  }

  async close(): Promise<void> {
    await this.server.close(true);
  }
}
