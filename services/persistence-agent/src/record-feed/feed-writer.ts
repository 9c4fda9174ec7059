import { Inject, Injectable } from '@nestjs/common';
import { Collections, Exchanges, FEED_ROUTING_PREFIX, feedKey, type FeedEntry } from '@drover/contracts';
import { BUS, UnroutableError, type Bus } from '@drover/messaging';
import { LOGGER, type Logger } from '@drover/runtime';
import { DuplicateKeyError, STORE, type Store } from '@drover/store';
import { withoutId } from '../infrastructure/documents';

/** An entry before it has a position; `sourceId` (the event's or activity's message id) makes it idempotent. */
export type UnplacedEntry = Omit<FeedEntry, 'id'> & { sourceId: string };

/** Attempts at taking the next position before the delivery is retried (concurrent writers race for it). */
const MAX_ATTEMPTS = 50;

/**
 * Appends entries to the live feed (`Collections.feed`) and publishes each, with its position as
 * its id, on `drover.events` (`feed.event`, `feed.activity`), where every gateway's feed queue
 * takes it (docs/events-and-correlation.md).
 *
 * Positions are dense: a writer reads the highest position and inserts the next one, and a
 * concurrent writer that took it first makes the insert fail on the unique `_id`, so it reads
 * again. An entry is therefore only ever written after every lower position is stored, and a
 * reader that sees position n can never later find a lower position appear: no entry commits
 * "late" behind one a client was already sent. The unique `sourceId` makes a redelivered event or
 * activity append nothing (it is published again, with its first position, for gateways that
 * missed it). A process appends one entry at a time and remembers the next position, so an entry
 * usually costs one insert; the top is read again only after another process took a position.
 */
@Injectable()
export class FeedWriter {
  /** Appends of this process, one after the other: they would only race each other for positions. */
  private appending: Promise<unknown> = Promise.resolve();
  /** The position this process expects to be free next; unknown until read, or after another writer took it. */
  private next: number | undefined;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(BUS) private readonly bus: Bus,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async append(entry: UnplacedEntry): Promise<FeedEntry> {
    const placing = this.appending.then(() => this.place(entry));
    this.appending = placing.catch(() => undefined);
    return this.publish(await placing);
  }

  /**
   * Inserts the entry at the next position: one insert in the usual case. A duplicate key is
   * either this entry already placed (a redelivery: its stored position is kept) or a position
   * another process took (read the top again and retry).
   */
  private async place(entry: UnplacedEntry): Promise<FeedEntry> {
    const feed = this.store.documents.collection(Collections.feed);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      // A range over every position (not no filter): one step down the key index on both stores.
      if (this.next === undefined) {
        const [top] = await feed.find(
          { field: '_id', op: 'gt', value: feedKey(0) },
          { sort: [{ field: '_id', direction: 'desc' }], limit: 1 },
        );
        this.next = top ? Number(top._id) + 1 : 1;
      }
      const position = this.next;
      const doc = { ...entry, _id: feedKey(position), position };
      try {
        await feed.insert(doc);
        this.next = position + 1;
        return toEntry(doc);
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error;
        const known = await feed.findOne({ field: 'sourceId', op: 'eq', value: entry.sourceId });
        if (known) return toEntry(known);
        this.next = undefined;
      }
    }
    throw new Error(`no feed position after ${MAX_ATTEMPTS} attempts (too many concurrent writers)`);
  }

  private async publish(entry: FeedEntry): Promise<FeedEntry> {
    try {
      await this.bus.publish(Exchanges.events, `${FEED_ROUTING_PREFIX}.${entry.kind}`, entry, {
        messageId: `feed-${entry.id}`,
      });
    } catch (error) {
      if (error instanceof UnroutableError) return entry; // no gateway is listening
      // Stored is what counts: a gateway fills the gap from the store when the next entry arrives.
      this.logger.warn({ err: (error as Error).message, feedId: entry.id }, 'feed entry not published');
    }
    return entry;
  }
}

/** A stored feed document as clients see it: its position as `id`, without the bookkeeping fields. */
export function toEntry(doc: Record<string, unknown> & { _id: string }): FeedEntry {
  const { sourceId, position, ...rest } = withoutId<Record<string, unknown>>(doc);
  void sourceId;
  return { ...rest, id: String(Number(position ?? doc._id)) } as FeedEntry;
}
