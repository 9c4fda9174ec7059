import { randomUUID } from 'node:crypto';
import { Exchanges, FEED_ROUTING_PREFIX, FeedEntry, type Page } from '@drover/contracts';
import {
  retryLater,
  type Bus,
  type Delivery,
  type Outcome,
  type QueueSpec,
  type Subscription,
} from '@drover/messaging';
import type { Logger } from '@drover/runtime';
import type { BusClients } from '../infrastructure/bus-clients';

/** Prefix of every gateway's own feed queue (`gateway.feed.<uuid>`; deploy/rabbitmq/definitions.json allows it). */
export const GATEWAY_FEED_QUEUE_PREFIX = 'gateway.feed';

/** How long the broker keeps a gateway's feed queue without a consumer (a gateway that lost its connection). */
const FEED_QUEUE_EXPIRES_MS = 60_000;

/** Entries read from the store per page when filling a gap or replaying after a `Last-Event-ID`. */
export const FEED_PAGE = 500;

export type FeedListener = (entry: FeedEntry) => void;

/**
 * The gateway's one consumer of the live feed: a queue of its own bound to `drover.events`
 * (`feed.#`), removed when the gateway stops (deleted on a clean stop; `autoDelete` when its
 * connection dies with the process; `x-expires` as the last resort), started with the first SSE
 * client. It hands entries to the connected clients strictly in position order with no gap:
 * entries arrive from concurrent writers slightly out of order, so one that is more than one
 * position ahead of the last handed out first makes the hub read the positions in between from
 * the store (the feed's positions are dense and written in order, so they are there).
 */
export class FeedHub {
  private readonly listeners = new Set<FeedListener>();
  private readonly queue: QueueSpec;
  private subscription?: Promise<Subscription>;
  /** The highest position handed out; unknown until the first entry arrives. */
  private last?: number;
  /** Entries are handled one at a time, in arrival order. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly bus: Bus,
    private readonly clients: BusClients,
    private readonly logger: Logger,
    instanceId: string = randomUUID(),
  ) {
    this.queue = {
      name: `${GATEWAY_FEED_QUEUE_PREFIX}.${instanceId}`,
      bindings: [{ exchange: Exchanges.events, pattern: `${FEED_ROUTING_PREFIX}.#` }],
      autoDelete: true,
      expiresMs: FEED_QUEUE_EXPIRES_MS,
      deadLetterQueue: false,
    };
  }

  get queueName(): string {
    return this.queue.name;
  }

  /** Declares and consumes the queue once; later calls wait for the first. */
  start(): Promise<Subscription> {
    this.subscription ??= (async () => {
      await this.bus.declareQueue(this.queue);
      const subscription = await this.bus.subscribe(this.queue.name, (delivery) => this.receive(delivery), {
        prefetch: 64,
      });
      this.logger.info({ queue: this.queue.name }, 'live feed consuming');
      return subscription;
    })().catch((error: unknown) => {
      this.subscription = undefined; // the next client tries again
      throw error;
    });
    return this.subscription;
  }

  async stop(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    if (!subscription) return;
    await (await subscription.catch(() => undefined))?.cancel();
    await this.bus.deleteQueue(this.queue.name).catch((error: unknown) => {
      this.logger.warn({ queue: this.queue.name, err: (error as Error).message }, 'live feed queue not deleted');
    });
  }

  listen(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private receive(delivery: Delivery): Promise<Outcome | void> {
    const parsed = FeedEntry.safeParse(delivery.body);
    if (!parsed.success) {
      this.logger.warn({ messageId: delivery.messageId }, 'live feed: not a feed entry, skipped');
      return Promise.resolve();
    }
    const run = this.chain.then(() => this.deliver(parsed.data));
    this.chain = run.catch(() => undefined);
    return run.catch((error: unknown) => retryLater(`feed gap not filled: ${(error as Error).message}`));
  }

  private async deliver(entry: FeedEntry): Promise<void> {
    const position = Number(entry.id);
    if (this.last === undefined) this.last = position - 1;
    if (position <= this.last) return;
    while (this.last < position - 1) {
      const page = await this.clients.ask<Page<FeedEntry>>({
        query: 'feed.list',
        after: String(this.last),
        limit: Math.min(FEED_PAGE, position - 1 - this.last),
      });
      if (page.items.length === 0) break; // pruned meanwhile: nothing more to hand out below `position`
      for (const missed of page.items) {
        if (Number(missed.id) >= position) break;
        this.emit(missed);
      }
    }
    this.emit(entry);
  }

  private emit(entry: FeedEntry): void {
    this.last = Number(entry.id);
    for (const listener of this.listeners) listener(entry);
  }
}
