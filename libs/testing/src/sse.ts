/** One server-sent event as a client reads it. */
export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/**
 * A test's connection to a server-sent events endpoint: collects messages and comments as they
 * arrive (`messages`, `comments`) until `close`. Parses the `text/event-stream` framing itself so
 * tests see exactly what the server wrote.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers?: Headers;
  /** Set when the server ended the stream (or the connection failed) before `close`. */
  ended = false;
  private readonly abort = new AbortController();
  private reading?: Promise<void>;

  private constructor() {}

  /** Opens the stream and resolves once the response's status and headers are in. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: client.abort.signal,
    });
    client.status = response.status;
    client.headers = response.headers;
    if (response.status !== 200 || !response.body) {
      client.body = await response.text();
      client.ended = true;
      return client;
    }
    client.reading = client.read(response.body);
    return client;
  }

  /** The body of a non-200 answer. */
  body = '';

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          this.frame(pending.slice(0, end));
          pending = pending.slice(end + 2);
        }
      }
    } catch {
      // aborted by `close`, or the server dropped the connection
    }
    this.ended = true;
  }

  private frame(text: string): void {
    const message: SseMessage = { data: '' };
    let hasData = false;
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') message.id = value;
      else if (field === 'event') message.event = value;
      else if (field === 'data') {
        message.data = hasData ? `${message.data}\n${value}` : value;
        hasData = true;
      }
    }
    if (hasData) this.messages.push(message);
  }

  /** The `data` of every message, parsed as JSON. */
  json<T = Record<string, unknown>>(): T[] {
    return this.messages.map((message) => JSON.parse(message.data) as T);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.reading;
  }
}
