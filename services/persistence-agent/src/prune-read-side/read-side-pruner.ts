import { setImmediate as nextTurn } from 'node:timers/promises';
import { Collections } from '@drover/contracts';
import type { Clock, Logger } from '@drover/runtime';
import type { Store } from '@drover/store';
import { pruneDeadLetters, type DeadLetterLimits } from '../keep-dead-letters/dead-letter-retention';
import {
  agentPage,
  belowNewest,
  byIds,
  excessBatch,
  expiredBatch,
  PRUNED_LOGS,
  SweepBudget,
  type BatchQuery,
  type LogLimits,
  type PrunedLog,
} from './retention-rules';

/** The profile's `retention`. */
export interface PrunerOptions {
  activities: LogLimits;
  commands: LogLimits;
  /** Bounds of the filed dead letters (`dead_letters`); absent: kept until deleted by hand. */
  deadLetters?: DeadLetterLimits;
  /** Absent: the feed is not pruned. */
  feed?: LogLimits;
  sweepIntervalMs: number;
  batchSize: number;
  batchesPerSweep: number;
}

/** What one sweep did. `finished`: nothing it was allowed to delete was left when it ended. */
export interface SweepReport {
  deleted: Record<PrunedLog['name'] | 'deadLetters', number>;
  finished: boolean;
}

/**
 * Retention of the read side (docs/operations.md, "Retention"): every `sweepIntervalMs`, deletes activities
 * and command-log entries older than their `maxAgeMs`, then walks the agent views and deletes each
 * agent's entries beyond its newest `maxPerAgent`. Work comes in batches of `batchSize` (one
 * bounded read, then a delete by `_id`), at most `batchesPerSweep` per sweep, and the sweep yields
 * to the message handlers between batches; a walk the budget cut short resumes at the same agent
 * next sweep.
 *
 * Every delete names documents a read just found expired or in excess, and they stay so, so
 * deletes are idempotent: several persistence agents may prune the same store at once (they only
 * repeat each other's work). Activity pages are keyed by the last item's `_id`, not by an offset,
 * so deleting older entries never makes a page repeat or skip an entry that still exists.
 */
export class ReadSidePruner {
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<unknown>;
  /** Set by `stop`: a sweep in progress ends after its current batch. */
  private stopped = false;
  /** The walk over agent views resumes after this id; `''` starts from the first agent. */
  private walkedTo = '';

  constructor(
    private readonly deps: { store: Store; clock: Clock; logger: Logger },
    private readonly options: PrunerOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.scheduleNext();
  }

  /** Stops after the batch in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.sweeping;
  }

  /** One sweep: expired entries first, then the per-agent limits, within the sweep's budget. */
  async sweep(): Promise<SweepReport> {
    const budget = new SweepBudget(this.options.batchesPerSweep);
    const deleted = { activities: 0, commands: 0, deadLetters: 0, feed: 0 };
    const now = this.deps.clock.now();
    let finished = true;
    for (const log of PRUNED_LOGS) {
      const { maxAgeMs } = this.limitsOf(log);
      if (maxAgeMs === null) continue;
      let query = expiredBatch(log, now, maxAgeMs, this.options.batchSize);
      if (log.name === 'feed') {
        const newest = await this.newestFeedId();
        if (newest === undefined) continue;
        query = belowNewest(query, newest);
      }
      const drained = await this.drain(log, query, budget);
      deleted[log.name] += drained.deleted;
      finished &&= drained.done;
    }
    if (finished) finished = await this.walkAgents(budget, deleted);
    if (finished && this.options.deadLetters) {
      const pruned = await pruneDeadLetters(this.deps.store, this.options.deadLetters, {
        now,
        batchSize: this.options.batchSize,
        budget,
        stopped: () => this.stopped,
      });
      deleted.deadLetters += pruned.deleted;
      finished = pruned.done;
    }
    return { deleted, finished };
  }

  /**
   * Enforces `maxPerAgent` agent by agent, from where the previous sweep stopped. Agents come
   * from their views: an agent with no view (a command for an unknown agent) is bounded by age.
   */
  private async walkAgents(budget: SweepBudget, deleted: SweepReport['deleted']): Promise<boolean> {
    const counted = PRUNED_LOGS.filter((log) => this.limitsOf(log).maxPerAgent !== null);
    if (counted.length === 0) return true;
    const agents = this.deps.store.documents.collection(Collections.agents);
    const { batchSize } = this.options;
    for (;;) {
      if (this.stopped || !budget.take()) return false;
      const page = agentPage(this.walkedTo, batchSize);
      const views = await agents.find(page.filter, page.options);
      for (const view of views) {
        for (const log of counted) {
          const query = excessBatch(log, view._id, this.limitsOf(log).maxPerAgent ?? 0, batchSize);
          const drained = await this.drain(log, query, budget);
          deleted[log.name] += drained.deleted;
          if (!drained.done) return false;
        }
        this.walkedTo = view._id;
      }
      if (views.length < batchSize) {
        this.walkedTo = '';
        return true;
      }
    }
  }

  private limitsOf(log: PrunedLog): LogLimits {
    return this.options[log.name] ?? { maxAgeMs: null, maxPerAgent: null };
  }

  private async newestFeedId(): Promise<string | undefined> {
    const [newest] = await this.deps.store.documents
      .collection(Collections.feed)
      .find({ field: '_id', op: 'gt', value: '' }, { sort: [{ field: '_id', direction: 'desc' }], limit: 1 });
    return newest?._id;
  }

  /** Reads and deletes batches of what `query` finds until a batch comes back short. */
  private async drain(
    log: PrunedLog,
    query: BatchQuery,
    budget: SweepBudget,
  ): Promise<{ deleted: number; done: boolean }> {
    const entries = this.deps.store.documents.collection(log.collection);
    let deleted = 0;
    for (;;) {
      if (this.stopped || !budget.take()) return { deleted, done: false };
      const found = await entries.find(query.filter, query.options);
      if (found.length > 0) deleted += await entries.delete(byIds(found.map((doc) => doc._id)));
      // Let the message handlers in before the next batch (SQLite's driver is synchronous).
      await nextTurn();
      if (found.length < this.options.batchSize) return { deleted, done: true };
    }
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.sweeping = this.sweepAndReport().finally(() => {
        this.sweeping = undefined;
        this.scheduleNext();
      });
    }, this.options.sweepIntervalMs);
    this.timer.unref();
  }

  private async sweepAndReport(): Promise<void> {
    try {
      const report = await this.sweep();
      const total =
        report.deleted.activities + report.deleted.commands + report.deleted.deadLetters + report.deleted.feed;
      if (total > 0 || !report.finished) {
        // Unfinished sweep after sweep means the limits outrun the budget: raise batchesPerSweep.
        this.deps.logger.info({ ...report.deleted, finished: report.finished }, 'read side pruned');
      }
    } catch (error) {
      this.deps.logger.warn({ err: (error as Error).message }, 'read-side retention sweep failed');
    }
  }
}
