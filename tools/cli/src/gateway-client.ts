import type { Page } from '@drover/contracts';
import { CliError, ExitCode, type ErrorBody } from './exit-codes';

/** Where the gateway is and the key to present (`--url`/`DROVER_URL`, `--api-key`/`DROVER_API_KEY`). */
export interface GatewayOptions {
  url: string;
  apiKey?: string;
  /** Per request (not per stream): a gateway that answers nothing in time counts as unreachable. */
  timeoutMs?: number;
  /** Sent as `X-Request-Id` (the gateway makes it the commands' `correlationId`; else it makes one). */
  requestId?: string;
}

/** Query parameters; arrays repeat the name (`label=a=1&label=b=2`), undefined ones are left out. */
export type Query = Record<string, string | number | readonly string[] | undefined>;

export interface Answer<T> {
  status: number;
  body: T;
}

/** The gateway's URL, checked once so a typo is a usage error (2), not an unreachable gateway (3). */
export function parseGatewayUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw CliError.usage(`--url: not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw CliError.usage(`--url: must be http(s), got "${url.protocol}"`);
  }
  return url;
}

/**
 * The REST API over fetch. Every answer outside 2xx becomes a `CliError` carrying the API's own
 * error body (exit 4 for 404, else 1); a network failure is exit 3.
 */
export class GatewayClient {
  private readonly base: URL;

  constructor(private readonly options: GatewayOptions) {
    this.base = parseGatewayUrl(options.url);
  }

  get url(): string {
    return this.base.origin + this.base.pathname.replace(/\/+$/, '');
  }

  /** The absolute URL of an API path with its query. */
  urlOf(path: string, query: Query = {}): URL {
    const url = new URL(this.url + path);
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? (value as readonly string[]) : [String(value)]) {
        url.searchParams.append(name, one);
      }
    }
    return url;
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      accept: 'application/json',
      ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}),
      ...(this.options.requestId ? { 'x-request-id': this.options.requestId } : {}),
      ...extra,
    };
  }

  async request<T>(method: string, path: string, init: { query?: Query; body?: unknown } = {}): Promise<Answer<T>> {
    const hasBody = init.body !== undefined;
    let response: Response;
    try {
      response = await fetch(this.urlOf(path, init.query), {
        method,
        headers: this.headers(hasBody ? { 'content-type': 'application/json' } : {}),
        ...(hasBody ? { body: JSON.stringify(init.body) } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw CliError.unreachable(`the gateway at ${this.url}`, error);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw CliError.unreachable(`the gateway at ${this.url}`, error);
    }
    const body = parseBody(text);
    if (!response.ok) throw apiError(response.status, body, text, response.headers.get('x-request-id'));
    return { status: response.status, body: body as T };
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, query ? { query } : {}).then((answer) => answer.body);
  }

  /**
   * A list route's page from `cursor`, or with `all` every page after it too (following
   * `nextCursor`): the items, and the cursor after the last page read.
   */
  async pages<T>(path: string, query: Query, cursor: string | undefined, all: boolean | undefined): Promise<Page<T>> {
    const items: T[] = [];
    let nextCursor: string | null = null;
    do {
      const page: Page<T> = await this.get<Page<T>>(path, { ...query, cursor });
      items.push(...page.items);
      nextCursor = page.nextCursor;
      cursor = nextCursor ?? undefined;
    } while (all && nextCursor);
    return { items, nextCursor };
  }

  /**
   * Opens a `text/event-stream` response (no timeout: a stream is open as long as it follows);
   * errors as for `request`.
   */
  async openStream(
    path: string,
    query: Query,
    lastEventId: string | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.urlOf(path, query), {
        headers: this.headers({
          accept: 'text/event-stream',
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        }),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      throw CliError.unreachable(`the gateway at ${this.url}`, error);
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw apiError(response.status, parseBody(text), text, response.headers.get('x-request-id'));
    }
    return response;
  }
}

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

/**
 * A non-2xx answer as a `CliError`: the API's own body when it has one, else `http_<status>`.
 * The gateway's request id, when it sent one, is kept to be shown: it finds the request in the logs.
 */
export function apiError(status: number, body: unknown, text: string, requestId?: string | null): CliError {
  const exitCode = status === 404 ? ExitCode.notFound : ExitCode.apiError;
  const error = isErrorBody(body)
    ? new CliError(exitCode, body.error.code, body.error.message, body)
    : new CliError(
        exitCode,
        `http_${status}`,
        `the gateway answered HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`,
      );
  if (requestId) error.requestId = requestId;
  return error;
}
