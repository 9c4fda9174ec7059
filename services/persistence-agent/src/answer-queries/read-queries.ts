import {
  Collections,
  type ActivityView,
  type AgentView,
  type CommandView,
  type FeedEntry,
  feedKey,
  type Filter,
  type Page,
  type PersistenceReply,
  type ReadQuery,
} from '@drover/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { STORE, type Doc, type Store } from '@drover/store';
import { withoutId } from '../infrastructure/documents';
import { fleetReadSide, getDeadLetter, listDeadLetters } from '../keep-dead-letters/dead-letter-queries';

/** Agents read per round while a label selector is applied. */
const LABEL_SCAN_BATCH = 500;
import { toEntry } from '../record-feed/feed-writer';

/** Answers the gateway's read-side queries. Pages use the last item's sort key as the cursor. */
@Injectable()
export class ReadQueries {
  constructor(@Inject(STORE) private readonly store: Store) {}

  async answer(query: ReadQuery): Promise<PersistenceReply> {
    switch (query.query) {
      case 'agent.get':
        return this.one(Collections.agents, query.agentId, `agent ${query.agentId} not found`);
      case 'command.get':
        return this.command(query.commandId);
      case 'agent.list':
        return { ok: true, result: await this.listAgents(query) };
      case 'activity.list':
        return { ok: true, result: await this.listActivities(query) };
      case 'deadLetter.list':
        return { ok: true, result: await listDeadLetters(this.store, query) };
      case 'deadLetter.get':
        return getDeadLetter(this.store, query.id);
      case 'fleet.summary':
        return { ok: true, result: await fleetReadSide(this.store) };
      case 'feed.list':
        return { ok: true, result: await this.listFeed(query) };
      case 'health':
        await this.store.ping();
        return { ok: true, result: { store: this.store.kind } };
    }
  }

  private async one(collection: string, id: string, notFound: string): Promise<PersistenceReply> {
    const doc = await this.store.documents.collection(collection).get(id);
    if (!doc) return { ok: false, error: { code: 'not_found', message: notFound } };
    return { ok: true, result: withoutId<AgentView | CommandView>(doc) };
  }

  private listFeed(query: Extract<ReadQuery, { query: 'feed.list' }>): Promise<Page<FeedEntry>> {
    return feedPage(this.store, query);
  }

  /** A command and what it caused: the feed's events under its id and under its correlation. */
  private async command(commandId: string): Promise<PersistenceReply> {
    const doc = await this.store.documents.collection(Collections.commands).get(commandId);
    if (!doc) return { ok: false, error: { code: 'not_found', message: `command ${commandId} not found` } };
    const view = withoutId<CommandView>(doc);
    const feed = this.store.documents.collection(Collections.feed);
    const under = (field: string, value: string) =>
      feed.find(
        {
          and: [
            { field, op: 'eq', value },
            { field: '_id', op: 'gt', value: feedKey(0) },
          ],
        },
        { sort: [{ field: '_id', direction: 'asc' }], limit: CAUSED_LIMIT },
      );
    const found = [
      ...(await under('commandId', commandId)),
      ...(view.correlationId ? await under('correlationId', view.correlationId) : []),
    ];
    const byId = new Map(found.filter((entry) => entry.kind === 'event').map((entry) => [entry._id, entry]));
    const caused = [...byId.values()]
      .sort((a, b) => (a._id < b._id ? -1 : 1))
      .slice(0, CAUSED_LIMIT)
      .map((entry) => {
        const item = toEntry(entry);
        return {
          feedId: item.id,
          agentId: item.agentId,
          ...(item.version !== undefined ? { version: item.version } : {}),
          type: item.type,
          ...(item.commandId ? { commandId: item.commandId } : {}),
          occurredAt: item.occurredAt,
        };
      });
    return { ok: true, result: { ...view, caused } };
  }

  private async listAgents(query: Extract<ReadQuery, { query: 'agent.list' }>): Promise<Page<AgentView>> {
    const filters: Filter[] = [];
    if (query.status) filters.push({ field: 'status', op: 'eq', value: query.status });
    if (query.behavior) filters.push({ field: 'behavior', op: 'eq', value: query.behavior });
    const labels = Object.entries(query.labels ?? {});
    if (!labels.length) {
      const docs = await this.findAgents(filters, query.cursor, query.limit + 1);
      return page(docs, query.limit, (doc) => doc._id);
    }
    // Label keys may hold "/" and "-", which no store-neutral field path can name: label
    // selectors are applied here, on batches of the agents the other filters select, in id order.
    const matches: Doc[] = [];
    let cursor = query.cursor;
    for (;;) {
      const batch = await this.findAgents(filters, cursor, LABEL_SCAN_BATCH);
      for (const doc of batch) {
        const has = (doc.labels ?? {}) as Record<string, unknown>;
        if (labels.every(([key, value]) => Object.hasOwn(has, key) && has[key] === value)) matches.push(doc);
        if (matches.length > query.limit) return page(matches, query.limit, (d) => d._id);
      }
      if (batch.length < LABEL_SCAN_BATCH) return page(matches, query.limit, (d) => d._id);
      cursor = batch.at(-1)!._id;
    }
  }

  private findAgents(filters: Filter[], cursor: string | undefined, limit: number): Promise<Doc[]> {
    const all = cursor ? [...filters, { field: '_id', op: 'gt', value: cursor } as Filter] : filters;
    return this.store.documents
      .collection(Collections.agents)
      .find(all.length ? { and: all } : undefined, { sort: [{ field: '_id', direction: 'asc' }], limit });
  }

  /** Newest first; the activity id (`<time>|<messageId>`) orders and pages the log. */
  private async listActivities(query: Extract<ReadQuery, { query: 'activity.list' }>): Promise<Page<ActivityView>> {
    const filters: Filter[] = [{ field: 'agentId', op: 'eq', value: query.agentId }];
    if (query.cursor) filters.push({ field: '_id', op: 'lt', value: query.cursor });
    const docs = await this.store.documents
      .collection(Collections.activities)
      .find({ and: filters }, { sort: [{ field: '_id', direction: 'desc' }], limit: query.limit + 1 });
    return page(docs, query.limit, (doc) => doc._id);
  }
}

/**
 * Feed entries after a position, oldest first; `nextCursor` is set when more follow. The
 * positions are dense and only ever written in order (`FeedWriter`), so a read returns every
 * entry up to the highest it saw.
 */
async function feedPage(store: Store, query: Extract<ReadQuery, { query: 'feed.list' }>): Promise<Page<FeedEntry>> {
  const filters: Filter[] = [];
  if (query.agentId) filters.push({ field: 'agentId', op: 'eq', value: query.agentId });
  // Always a range on the key (from position 1 when no `after`), so it is an index range on both stores.
  filters.push({ field: '_id', op: 'gt', value: feedKey(Number(query.after ?? 0)) });
  const docs = await store.documents.collection(Collections.feed).find(
    { and: filters },
    {
      sort: [{ field: '_id', direction: 'asc' }],
      limit: query.limit + 1,
    },
  );
  const items = docs.slice(0, query.limit).map(toEntry);
  return { items, nextCursor: docs.length > query.limit ? (items.at(-1)?.id ?? null) : null };
}

/** Most events `GET /api/commands/{id}` lists as caused by the command. */
const CAUSED_LIMIT = 200;

function page<T>(docs: Doc[], limit: number, cursorOf: (doc: Doc) => string): Page<T> {
  const items = docs.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map((doc) => withoutId<T>(doc)),
    nextCursor: docs.length > limit && last ? cursorOf(last) : null,
  };
}
