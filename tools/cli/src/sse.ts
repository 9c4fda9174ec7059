import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { CliError, ExitCode } from './exit-codes';
import { type GatewayClient, type Query } from './gateway-client';

/** One message of the gateway's live stream. */
export interface StreamMessage {
  /** The feed id (opaque; resumable with `Last-Event-ID`). */
  id?: string;
  /** `event:` (a domain event type such as `agent.started`, or `activity`). */
  event?: string;
  /** `data:` parsed as JSON (a FeedEntry), or the raw text when it is not JSON. */
  data: unknown;
}

export interface FollowOptions {
  /** Resume after this feed id (`--last-event-id`); afterwards the id of the last message seen. */
  lastEventId?: string;
  signal: AbortSignal;
  /** Told each time the stream is open: from then on, what happens is printed. */
  onOpen?: () => void;
  /** Told when the stream dropped and is being opened again (for a note on stderr). */
  onReconnect?: (delayMs: number, reason: string) => void;
}

/** How long to wait before reopening a dropped stream, unless the server's `retry:` says otherwise. */
const DEFAULT_RETRY_MS = 1_000;

/**
 * Follows a server-sent event stream of the gateway until `signal` aborts. The text/event-stream
 * is parsed by `eventsource-parser` (the parser the `eventsource` package itself uses); the
 * connection is a plain fetch so the API key goes in a header, which a browser-style EventSource
 * cannot send. When an open stream drops (a gateway restart), it is opened again with the last
 * id seen as `Last-Event-ID`, so no event is lost or repeated. A stream that cannot be opened
 * at all ends the command (exit 3, or the API's error: 401, 404 ...).
 */
export async function followStream(
  gateway: GatewayClient,
  path: string,
  query: Query,
  onMessage: (message: StreamMessage) => void,
  options: FollowOptions,
): Promise<void> {
  let lastEventId = options.lastEventId;
  let retryMs = DEFAULT_RETRY_MS;
  let opened = false;
  while (!options.signal.aborted) {
    let response: Response;
    try {
      response = await gateway.openStream(path, query, lastEventId, options.signal);
    } catch (error) {
      if (options.signal.aborted) return;
      // Only a stream that was open once is retried: a first refusal is the operator's to see.
      if (!opened || !(error instanceof CliError) || error.exitCode !== ExitCode.unreachable) throw error;
      options.onReconnect?.(retryMs, error.message);
      await delay(retryMs, options.signal);
      continue;
    }
    opened = true;
    options.onOpen?.();
    const parser = createParser({
      onEvent(message: EventSourceMessage) {
        if (message.id) lastEventId = message.id;
        onMessage({
          ...(message.id ? { id: message.id } : {}),
          ...(message.event ? { event: message.event } : {}),
          data: parseData(message.data),
        });
      },
      onRetry(ms: number) {
        retryMs = ms;
      },
    });
    let reason = 'the gateway closed the stream';
    try {
      const decoder = new TextDecoder();
      for await (const chunk of response.body ?? []) {
        parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
      }
    } catch (error) {
      if (options.signal.aborted) return;
      reason = (error as Error).message;
    }
    if (options.signal.aborted) return;
    options.onReconnect?.(retryMs, reason);
    await delay(retryMs, options.signal);
  }
}

function parseData(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), done()), { once: true });
  });
}
