import { Controller, Get, Inject, Param, Query, Req, Res, type OnModuleDestroy } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  AgentFeedQuery,
  FEED_ID_PATTERN,
  FeedQuery,
  feedEntryMatches,
  type FeedEntry,
  type Page,
} from '@drover/contracts';
import { LOGGER, type Logger } from '@drover/runtime';
import { AgentIdParam } from '../agents/agents.requests';
import { ApiError, parseOrThrow } from '../infrastructure/api-error';
import { BusClients } from '../infrastructure/bus-clients';
import { FEED_PAGE, FeedHub } from './feed-hub';

/** Settings of the live stream (`GatewayDeps.feed`). */
export interface FeedSettings {
  /** Interval of the `: keep-alive` comment (`SSE_KEEPALIVE_MS`, default 15 s). */
  keepAliveMs: number;
  /**
   * Entries a client may have waiting (buffered while its replay runs, or unsent in the socket)
   * before it is dropped: a slow client must not grow the gateway's memory without bound.
   */
  maxPending: number;
}

export const FEED_SETTINGS = Symbol('FeedSettings');
export const DEFAULT_FEED_SETTINGS: FeedSettings = { keepAliveMs: 15_000, maxPending: 10_000 };

/** Bytes a client may leave unsent in its socket before it is dropped (about `maxPending` small entries). */
const BYTES_PER_PENDING_ENTRY = 1024;

/**
 * The live stream (server-sent events, docs/events-and-correlation.md): domain events and
 * activities as the read side records them, each with its feed position as `id`, resumable with
 * `Last-Event-ID` (or `?lastEventId=`) without a gap or a duplicate.
 *
 * On connect the client's live entries are buffered first, then the entries after its
 * `Last-Event-ID` are read from the store and sent, then the buffer is flushed, skipping what the
 * replay already sent. Without a `Last-Event-ID` the stream starts with what happens next.
 */
@Controller('api')
export class EventsController implements OnModuleDestroy {
  /** The streams open now. */
  private readonly open = new Set<FeedClient>();

  constructor(
    @Inject(FeedHub) private readonly hub: FeedHub,
    @Inject(BusClients) private readonly clients: BusClients,
    @Inject(FEED_SETTINGS) private readonly settings: FeedSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('events')
  async all(@Query() query: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const filters = parseOrThrow(FeedQuery, query);
    await this.stream(filters, req, res);
  }

  @Get('agents/:agentId/events')
  async ofAgent(
    @Param() params: unknown,
    @Query() query: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    const filters = parseOrThrow(AgentFeedQuery, query);
    await this.stream({ ...filters, agentId }, req, res);
  }

  /** Ends every open stream first: the HTTP server's close waits for its connections. */
  async onModuleDestroy(): Promise<void> {
    for (const client of this.open) client.end();
    this.open.clear();
    await this.hub.stop();
  }

  private async stream(query: FeedQuery, req: Request, res: Response): Promise<void> {
    const resumeFrom = lastEventId(req, query);
    // Before the response starts: a bus that is down is still a clean 503.
    await this.hub.start().catch((error: unknown) => {
      throw new ApiError(503, 'unavailable', 'the live feed is not reachable', undefined, error);
    });
    const log = this.logger.child({ requestId: res.getHeader('X-Request-Id'), feed: query });
    const client = new FeedClient(res, query, this.settings, log);
    const stopListening = this.hub.listen((entry) => client.offer(entry));
    const keepAlive = setInterval(() => client.keepAlive(), this.settings.keepAliveMs);
    keepAlive.unref();
    this.open.add(client);
    const close = () => {
      this.open.delete(client);
      stopListening();
      clearInterval(keepAlive);
    };
    req.on('close', close);
    res.on('close', close);

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no'); // nginx: pass each message on at once
    res.flushHeaders();
    res.write('retry: 2000\n\n');

    try {
      if (resumeFrom !== undefined) await this.replay(client, query, resumeFrom);
      client.goLive();
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'live feed replay failed; client dropped');
      close();
      res.end();
    }
  }

  /** Sends the stored entries after `after` that pass the filters, page by page, until none is left. */
  private async replay(client: FeedClient, query: FeedQuery, after: string): Promise<void> {
    let cursor = after;
    for (;;) {
      if (client.closed) return;
      const page = await this.clients.ask<Page<FeedEntry>>({
        query: 'feed.list',
        after: cursor,
        limit: FEED_PAGE,
        ...(query.agentId ? { agentId: query.agentId } : {}),
      });
      for (const entry of page.items) client.sendReplayed(entry);
      if (page.nextCursor === null || page.items.length === 0) return;
      cursor = page.nextCursor;
    }
  }
}

/** `Last-Event-ID` (header) or `lastEventId` (query); a malformed header is a 400 naming it. */
function lastEventId(req: Request, query: FeedQuery): string | undefined {
  const header = req.headers['last-event-id'];
  if (header === undefined || header === '') return query.lastEventId;
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !FEED_ID_PATTERN.test(value)) {
    throw ApiError.invalid([
      { field: 'Last-Event-ID', message: 'a feed id is a decimal number (an `id:` of this stream)' },
    ]);
  }
  return value;
}

/** One connected SSE client: its filters, what it was sent, and what waits for it. */
class FeedClient {
  /** Highest position sent (or skipped by the filters) so far. */
  private sent = -1;
  private buffer: FeedEntry[] | undefined = [];
  closed = false;

  constructor(
    private readonly res: Response,
    private readonly query: FeedQuery,
    private readonly settings: FeedSettings,
    private readonly log: Logger,
  ) {
    res.on('close', () => (this.closed = true));
  }

  /** A live entry from the hub: buffered while the replay runs, else sent. */
  offer(entry: FeedEntry): void {
    if (this.closed) return;
    if (this.buffer) {
      if (this.buffer.length >= this.settings.maxPending) return this.drop('buffered');
      this.buffer.push(entry);
      return;
    }
    this.send(entry);
  }

  sendReplayed(entry: FeedEntry): void {
    this.send(entry);
  }

  /** Ends the replay: flushes what arrived meanwhile, skipping what the replay sent. */
  goLive(): void {
    const buffered = this.buffer ?? [];
    this.buffer = undefined;
    for (const entry of buffered) this.send(entry);
  }

  /** The gateway is stopping: the client may reconnect (to another gateway) with its Last-Event-ID. */
  end(): void {
    this.closed = true;
    this.buffer = undefined;
    this.res.end();
  }

  keepAlive(): void {
    if (!this.closed) this.res.write(': keep-alive\n\n');
  }

  private send(entry: FeedEntry): void {
    if (this.closed) return;
    const position = Number(entry.id);
    if (position <= this.sent) return;
    this.sent = position;
    if (!feedEntryMatches(entry, this.query)) return;
    this.res.write(
      `id: ${entry.id}\nevent: ${entry.kind === 'event' ? entry.type : 'activity'}\ndata: ${JSON.stringify(entry)}\n\n`,
    );
    if (this.res.writableLength > this.settings.maxPending * BYTES_PER_PENDING_ENTRY) this.drop('unsent');
  }

  private drop(where: 'buffered' | 'unsent'): void {
    this.log.warn(
      { lastSentId: String(this.sent), maxPending: this.settings.maxPending, where },
      'live feed client too slow: dropped (it may reconnect with Last-Event-ID)',
    );
    this.closed = true;
    this.buffer = undefined;
    this.res.destroy();
  }
}
