import {
  AGENT_STATUSES,
  Collections,
  type DeadLetterView,
  type Filter,
  type FleetReadSide,
  type Page,
  type PersistenceReply,
  type ReadQuery,
  type SessionAgentRecord,
} from '@drover/contracts';
import type { Doc, Store } from '@drover/store';

type ListQuery = Extract<ReadQuery, { query: 'deadLetter.list' }>;

/** A stored dead letter as the API shows it: `_id` as `id`, without the sort key. */
function toView(doc: Doc): DeadLetterView {
  const { _id, key: _key, ...rest } = doc;
  return { id: _id, ...rest } as DeadLetterView;
}

/** Dead letters newest first (by `key`, `<deadLetteredAt>|<id>`), optionally of one queue; the cursor is the last key. */
export async function listDeadLetters(store: Store, query: ListQuery): Promise<Page<DeadLetterView>> {
  const filters: Filter[] = [];
  if (query.queue) filters.push({ field: 'queue', op: 'eq', value: query.queue });
  if (query.cursor) filters.push({ field: 'key', op: 'lt', value: query.cursor });
  const docs = await store.documents
    .collection(Collections.deadLetters)
    .find(filters.length ? { and: filters } : undefined, {
      sort: [{ field: 'key', direction: 'desc' }],
      limit: query.limit + 1,
    });
  const items = docs.slice(0, query.limit);
  const last = items.at(-1);
  return {
    items: items.map(toView),
    nextCursor: docs.length > query.limit && last ? String(last.key) : null,
  };
}

export async function getDeadLetter(store: Store, id: string): Promise<PersistenceReply<DeadLetterView>> {
  const doc = await store.documents.collection(Collections.deadLetters).get(id);
  if (!doc) return { ok: false, error: { code: 'not_found', message: `dead letter ${id} not found` } };
  return { ok: true, result: toView(doc) };
}

/**
 * The read side's part of the fleet load summary: agents by status (an index count each), the
 * session agents' records, and dead letters by queue. The queues are counted per dead-letter
 * queue of the records filed (a handful), through the `queue` index.
 */
export async function fleetReadSide(store: Store): Promise<FleetReadSide> {
  const agents = store.documents.collection(Collections.agents);
  const statusCounts: Record<string, number> = {};
  for (const status of AGENT_STATUSES) {
    const count = await agents.count({ field: 'status', op: 'eq', value: status });
    if (count > 0) statusCounts[status] = count;
  }
  const records = (await store.documents
    .collection(Collections.sessionAgents)
    .find(undefined, { sort: [{ field: '_id', direction: 'asc' }], limit: 1000 })) as unknown as SessionAgentRecord[];
  const sessionAgents = records.map((record) => ({
    instanceId: record._id,
    capacity: record.capacity,
    sessions: record.agentIds.length,
    alive: record.alive,
    lastSeenAt: record.lastSeenAt,
  }));
  const deadLetters = store.documents.collection(Collections.deadLetters);
  const byQueue: Record<string, number> = {};
  let total = 0;
  // Walk the distinct queues through the index: the first dead letter after the last queue seen.
  let after: string | undefined;
  for (;;) {
    const [next] = await deadLetters.find(
      after === undefined ? undefined : { field: 'queue', op: 'gt', value: after },
      {
        sort: [{ field: 'queue', direction: 'asc' }],
        limit: 1,
      },
    );
    if (!next) break;
    const queue = String(next.queue);
    byQueue[queue] = await deadLetters.count({ field: 'queue', op: 'eq', value: queue });
    total += byQueue[queue];
    after = queue;
  }
  return { statusCounts, sessionAgents, queued: statusCounts.queued ?? 0, deadLetters: { total, byQueue } };
}
