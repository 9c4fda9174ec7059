import { Collections, type Filter } from '@drover/contracts';
import type { FindOptions } from '@drover/store';

/**
 * A log of the read side that retention prunes: where its entries live, which field dates an
 * entry, and which field orders one agent's entries oldest to newest. READ_SIDE_INDEXES
 * (`@drover/contracts`) holds an index for each query below: `time` alone, and
 * `agentId` then `order`.
 */
export interface PrunedLog {
  name: 'activities' | 'commands' | 'feed';
  collection: string;
  /** An ISO-8601 UTC timestamp; entries dated before the cutoff are expired, undated ones never. */
  time: string;
  /** Orders one agent's entries; the largest is the newest. */
  order: string;
}

export const PRUNED_LOGS: readonly PrunedLog[] = [
  // An activity's `_id` is `<at>|<messageId>`: the order pages use, newest first.
  { name: 'activities', collection: Collections.activities, time: 'at', order: '_id' },
  // A command's `_id` is its message id, which orders nothing; `receivedAt` is when the log saw it.
  // An entry whose `received` record never arrived (only the engine's outcome did) has none: it
  // sorts as the oldest, so the count per agent removes it first, and age never does.
  { name: 'commands', collection: Collections.commands, time: 'receivedAt', order: 'receivedAt' },
  // A feed entry's `_id` is its position. Age never removes the newest entry (`belowNewest`): the
  // next position is the newest plus one, so an empty feed would hand out positions again.
  { name: 'feed', collection: Collections.feed, time: 'occurredAt', order: '_id' },
];

/** Narrows a query to entries below `newestId`, which it must never delete. */
export function belowNewest(query: BatchQuery, newestId: string): BatchQuery {
  return { ...query, filter: { and: [query.filter, { field: '_id', op: 'lt', value: newestId }] } };
}

/** How long a log keeps an entry and how many it keeps per agent; `null` is no limit. */
export interface LogLimits {
  maxAgeMs: number | null;
  maxPerAgent: number | null;
}

/** A read: the filter and the options of one `find`. */
export interface BatchQuery {
  filter: Filter;
  options: FindOptions;
}

/**
 * Entries dated before `now - maxAgeMs`, oldest first, at most `batchSize`. Ordered by the
 * indexed time field so the store reads one index range and stops after the batch, however
 * large the backlog. Timestamps compare as text: every Drover service writes them with
 * `toISOString()` (UTC, milliseconds), and so is the cutoff.
 */
export function expiredBatch(log: PrunedLog, now: Date, maxAgeMs: number, batchSize: number): BatchQuery {
  const cutoff = new Date(now.getTime() - maxAgeMs).toISOString();
  return {
    filter: { field: log.time, op: 'lt', value: cutoff },
    options: { sort: [{ field: log.time, direction: 'asc' }], limit: batchSize },
  };
}

/**
 * An agent's entries beyond its newest `maxPerAgent`, newest of them first, at most `batchSize`:
 * what a newest-first page would show after the kept ones. What it finds stays beyond the newest
 * `maxPerAgent` whatever is appended meanwhile, so deleting it is safe against concurrent writers
 * and against a second pruner doing the same.
 */
export function excessBatch(log: PrunedLog, agentId: string, maxPerAgent: number, batchSize: number): BatchQuery {
  return {
    filter: { field: 'agentId', op: 'eq', value: agentId },
    options: { sort: [{ field: log.order, direction: 'desc' }], skip: maxPerAgent, limit: batchSize },
  };
}

/**
 * The next page of agent views to check against the per-agent limits, in `_id` order after
 * `after` (from the first with `''`: agent ids are never empty).
 */
export function agentPage(after: string, batchSize: number): BatchQuery {
  return {
    filter: { field: '_id', op: 'gt', value: after },
    options: { sort: [{ field: '_id', direction: 'asc' }], limit: batchSize },
  };
}

/** Deletes exactly the documents found, by `_id` (the primary key on every store). */
export function byIds(ids: string[]): Filter {
  return { field: '_id', op: 'in', value: ids };
}

/**
 * How much one sweep may do: a number of batches, each one bounded read and at most one delete.
 * What is left waits for the next sweep, so a backlog (the first sweep after retention was
 * turned on, or a lowered limit) is worked off over several sweeps instead of in one long one.
 */
export class SweepBudget {
  private used = 0;

  constructor(private readonly batches: number) {}

  /** Takes one batch; false once the sweep has spent its budget. */
  take(): boolean {
    if (this.used >= this.batches) return false;
    this.used += 1;
    return true;
  }

  get spent(): boolean {
    return this.used >= this.batches;
  }
}
