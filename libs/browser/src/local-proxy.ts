import type { lookup, LookupAddress, LookupOptions } from 'node:dns';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { RequestError, Server, SOCKS_PROTOCOLS, type PrepareRequestFunctionResult } from 'proxy-chain';
import { redactCredentials, redactProxyUrl, urlSecrets } from '@drover/contracts';
import { EgressRefusedError, type EgressPolicy } from '@drover/runtime';

export interface ProxyFailure {
  /** The error's class (`RequestError`, `Error`, ...) or `UpstreamStatus` when only a status line is known. */
  errorClass: string;
  /** Human-readable; never contains the upstream credentials. */
  message: string;
}

/** A request the egress policy refused before any connection was made. */
export interface EgressRefusal {
  /** `host:port` as the client asked for it. */
  target: string;
  /** Why, e.g. `169.254.169.254 is link-local (metadata)`. */
  reason: string;
}

export interface LocalProxyOptions {
  /** Every target, and the upstream proxy itself, is checked against it before a connection is made. */
  egress: EgressPolicy;
  /** The upstream proxy failed (never with its credentials). */
  onFailure?: (failure: ProxyFailure) => void;
  /** The policy refused a request; the client got a 403 (a failed tunnel for HTTPS). */
  onRefused?: (refusal: EgressRefusal) => void;
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

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` stand-in that answers with the addresses the policy checked, so the socket
 * connects to exactly those: a second resolution could answer differently (DNS rebinding).
 */
export function pinnedLookup(addresses: readonly LookupAddress[]): typeof lookup {
  const pinned = (_host: string, options: LookupOptions | LookupCallback, callback?: LookupCallback): void => {
    const done = (typeof options === 'function' ? options : callback)!;
    const wanted = typeof options === 'object' ? options : {};
    const family = wanted.family === 'IPv4' ? 4 : wanted.family === 'IPv6' ? 6 : wanted.family;
    const usable = addresses.filter((entry) => !family || entry.family === family);
    if (usable.length === 0) {
      const error: NodeJS.ErrnoException = new Error('no checked address of the requested family');
      error.code = 'ENOTFOUND';
      done(error, []);
      return;
    }
    if (wanted.all) done(null, usable);
    else done(null, usable[0]!.address, usable[0]!.family);
  };
  // dns.lookup's type is a set of overloads (and a promisify hook) that one function cannot spell.
  return pinned as unknown as typeof lookup;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * proxy-chain reports few upstream failures as events: HTTP requests failing with a RequestError (e.g. upstream 407
 * -> 597) only answer the client, CONNECT failures only write a status line to the socket. This subclass hooks those
 * places and reports each failed request (or tunnel) once.
 */
class ReportingServer extends Server {
  private readonly refused = new WeakSet<IncomingMessage>();

  constructor(
    port: number,
    private readonly upstream: URL | undefined,
    private readonly options: LocalProxyOptions,
  ) {
    super({
      port,
      host: '127.0.0.1',
      verbose: false,
      prepareRequestFunction: ({ request, hostname, port: targetPort, isHttp }) =>
        this.prepare(request, hostname, targetPort, isHttp),
    });
  }

  /**
   * The egress check of one request, before proxy-chain connects anywhere. Direct: the target's
   * checked addresses are what the socket connects to. Through an upstream: the upstream's
   * checked addresses are; the target is still refused when it resolves here to a forbidden
   * address, and passed on when it does not resolve here (the upstream resolves it in its network).
   */
  private async prepare(
    request: IncomingMessage,
    hostname: string,
    port: number,
    isHttp: boolean,
  ): Promise<PrepareRequestFunctionResult> {
    const { egress } = this.options;
    const target = `${hostname}:${port}`;
    if (!this.upstream) {
      const decision = await egress.check(hostname, port).catch((error: Error) => {
        throw new RequestError(`cannot resolve ${hostname}: ${error.message}`, 502);
      });
      if (!decision.allowed) return this.refuse(request, target, decision.reason, isHttp);
      return { dnsLookup: pinnedLookup(decision.addresses) };
    }
    const decision = await egress.check(hostname, port).catch(() => undefined);
    if (decision && !decision.allowed) return this.refuse(request, target, decision.reason, isHttp);
    const upstream = await egress.check(this.upstream.hostname, upstreamPort(this.upstream));
    if (!upstream.allowed) return this.refuse(request, target, `upstream proxy ${upstream.reason}`, isHttp);
    return { upstreamProxyUrl: this.upstream.href, dnsLookup: pinnedLookup(upstream.addresses) };
  }

  /** Plain HTTP gets a 403 page whose title is the reason (what a page check shows); CONNECT a 403 status line. */
  private refuse(
    request: IncomingMessage,
    target: string,
    reason: string,
    isHttp: boolean,
  ): PrepareRequestFunctionResult {
    this.refused.add(request);
    try {
      this.options.onRefused?.({ target, reason });
    } catch {
      // a reporting callback never breaks the proxy
    }
    const message = new EgressRefusedError(reason).message;
    if (!isHttp) throw new RequestError(message, 403, { 'x-drover-egress': 'refused' });
    return {
      customResponseFunction: () => ({
        statusCode: 403,
        headers: { 'content-type': 'text/html; charset=utf-8', 'x-drover-egress': 'refused' },
        body: `<!doctype html><title>${escapeHtml(message)}</title><p>${escapeHtml(message)}</p>`,
      }),
    };
  }

  override failRequest(request: IncomingMessage, error: NodeJS.ErrnoException): void {
    if (this.refused.has(request)) {
      super.failRequest(request, error);
      return;
    }
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
    // Without an upstream there is no proxy to blame: the page load itself shows the failure.
    if (!this.upstream || reported.has(request) || this.refused.has(request)) return;
    reported.add(request);
    const secrets = this.upstream ? urlSecrets(this.upstream.href) : [];
    this.options.onFailure?.({ errorClass: failure.errorClass, message: redactCredentials(failure.message, secrets) });
  }
}

function upstreamPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : url.protocol === 'http:' ? 80 : 1080;
}

/**
 * A credential-free local HTTP proxy on 127.0.0.1 (OS-assigned port) that enforces an agent's
 * egress policy on every request, and chains to the agent's upstream proxy when it has one.
 */
export class LocalProxy {
  private constructor(
    private readonly server: ReportingServer,
    /** `http://127.0.0.1:<port>`, what the browser context is given. */
    readonly url: string,
    /** The upstream with credentials redacted, for logs; undefined for direct connections. */
    readonly upstreamRedacted: string | undefined,
  ) {}

  /**
   * Starts the endpoint. An upstream proxy the policy refuses (say `http://169.254.169.254`)
   * fails here with an `EgressRefusedError`, before anything is sent to it.
   */
  static async start(upstream: string | undefined, options: LocalProxyOptions): Promise<LocalProxy> {
    let parsed: URL | undefined;
    if (upstream) {
      validateProxyUrl(upstream);
      parsed = new URL(upstream);
      const decision = await options.egress.check(parsed.hostname, upstreamPort(parsed));
      if (!decision.allowed) throw new EgressRefusedError(`upstream proxy ${decision.reason}`);
    }
    const server = new ReportingServer(0, parsed, options);
    await server.listen();
    return new LocalProxy(server, `http://127.0.0.1:${server.port}`, upstream ? redactProxyUrl(upstream) : undefined);
  }

  get port(): number {
    return this.server.port;
  }

  async close(): Promise<void> {
    await this.server.close(true);
  }
}
