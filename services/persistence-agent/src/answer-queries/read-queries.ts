import {
  Collections,
  type ActivityView,
  type AgentView,
  type CommandView,
  type Filter,
  type Page,
  type PersistenceReply,
  type ReadQuery,
} from '@drover/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { STORE, type Doc, type Store } from '@drover/store';
import { withoutId } from '../infrastructure/documents';
import { fleetReadSide, getDeadLetter, listDeadLetters } from '../keep-dead-letters/dead-letter-queries';

/** Answers the gateway's read-side queries. Pages use the last item's sort key as the cursor. */
@Injectable()
export class ReadQueries {
  constructor(@Inject(STORE) private readonly store: Store) {}

  async answer(query: ReadQuery): Promise<PersistenceReply> {
    switch (query.query) {
      case 'agent.get':
        return this.one(Collections.agents, query.agentId, `agent ${query.agentId} not found`);
      case 'command.get':
        return this.one(Collections.commands, query.commandId, `command ${query.commandId} not found`);
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

  private async listAgents(query: Extract<ReadQuery, { query: 'agent.list' }>): Promise<Page<AgentView>> {
    const filters: Filter[] = [];
    if (query.status) filters.push({ field: 'status', op: 'eq', value: query.status });
    if (query.cursor) filters.push({ field: '_id', op: 'gt', value: query.cursor });
    const docs = await this.store.documents
      .collection(Collections.agents)
      .find(filters.length ? { and: filters } : undefined, {
        sort: [{ field: '_id', direction: 'asc' }],
        limit: query.limit + 1,
      });
    return page(docs, query.limit, (doc) => doc._id);
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

function page<T>(docs: Doc[], limit: number, cursorOf: (doc: Doc) => string): Page<T> {
  const items = docs.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map((doc) => withoutId<T>(doc)),
    nextCursor: docs.length > limit && last ? cursorOf(last) : null,
  };
}
