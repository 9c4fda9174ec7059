import { setImmediate as nextTurn } from 'node:timers/promises';
import { Collections, type Filter } from '@drover/contracts';
import type { FindOptions, Store } from '@drover/store';
import { byIds, type SweepBudget } from '../prune-read-side/retention-rules';

/** The profile's `retention.deadLetters`: the same bounds bootstrap gives the broker's `.dead` queues. */
export interface DeadLetterLimits {
  maxAgeMs: number | null;
  maxLength: number | null;
}

/**
 * Retention of `dead_letters`, one step of the read-side sweep: deletes those dead-lettered more
 * than `maxAgeMs` ago, then all but the newest `maxLength`, in batches within the sweep's budget.
 * Returns how many it deleted and whether it finished.
 */
export async function pruneDeadLetters(
  store: Store,
  limits: DeadLetterLimits,
  run: { now: Date; batchSize: number; budget: SweepBudget; stopped: () => boolean },
): Promise<{ deleted: number; done: boolean }> {
  const letters = store.documents.collection(Collections.deadLetters);
  const queries: { filter?: Filter; options: FindOptions }[] = [];
  if (limits.maxAgeMs !== null) {
    const before = new Date(run.now.getTime() - limits.maxAgeMs).toISOString();
    queries.push({
      filter: { field: 'deadLetteredAt', op: 'lt', value: before },
      options: { sort: [{ field: 'deadLetteredAt', direction: 'asc' }], limit: run.batchSize },
    });
  }
  if (limits.maxLength !== null) {
    queries.push({
      options: { sort: [{ field: 'key', direction: 'desc' }], skip: limits.maxLength, limit: run.batchSize },
    });
  }
  let deleted = 0;
  for (const query of queries) {
    for (;;) {
      if (run.stopped() || !run.budget.take()) return { deleted, done: false };
      const found = await letters.find(query.filter, query.options);
      if (found.length > 0) deleted += await letters.delete(byIds(found.map((doc) => doc._id)));
      await nextTurn();
      if (found.length < run.batchSize) break;
    }
  }
  return { deleted, done: true };
}
