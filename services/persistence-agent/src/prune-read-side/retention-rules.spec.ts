import { describe, expect, it } from '@jest/globals';
import { READ_SIDE_INDEXES, type Filter } from '@drover/contracts';
import { excessBatch, expiredBatch, PRUNED_LOGS, SweepBudget, type BatchQuery } from './retention-rules';

const NOW = new Date('2026-03-10T12:00:00.000Z');

/** The fields a query tests for equality, then the fields it ranges over or sorts by, in order. */
function keyFields(query: BatchQuery): string[] {
  const leaves = (filter: Filter): Filter[] => ('and' in filter ? filter.and.flatMap(leaves) : [filter]);
  const fields = leaves(query.filter).map((leaf) => ('field' in leaf ? leaf.field : '?'));
  for (const key of query.options.sort ?? []) if (!fields.includes(key.field)) fields.push(key.field);
  return fields;
}

describe('retention rules', () => {
  it('expires entries dated before now less maxAgeMs, oldest first, one batch at a time', () => {
    const log = PRUNED_LOGS.find((candidate) => candidate.name === 'activities')!;
    expect(expiredBatch(log, NOW, 7 * 24 * 3_600_000, 200)).toEqual({
      filter: { field: 'at', op: 'lt', value: '2026-03-03T12:00:00.000Z' },
      options: { sort: [{ field: 'at', direction: 'asc' }], limit: 200 },
    });
  });

  it("finds an agent's entries beyond its newest maxPerAgent, newest of them first", () => {
    const log = PRUNED_LOGS.find((candidate) => candidate.name === 'commands')!;
    expect(excessBatch(log, 'mon-1', 10_000, 200)).toEqual({
      filter: { field: 'agentId', op: 'eq', value: 'mon-1' },
      options: { sort: [{ field: 'receivedAt', direction: 'desc' }], skip: 10_000, limit: 200 },
    });
  });

  // On MongoDB 7 (and SQLite) a query is served by an index whose fields start with the fields
  // the query tests for equality and then orders or ranges by; without one every batch would
  // scan the collection. The SQLite plans are checked in libs/store (sqlite-plans.spec.ts).
  it('runs only queries a declared read-side index serves', () => {
    for (const log of PRUNED_LOGS) {
      const indexed = READ_SIDE_INDEXES.filter((index) => index.collection === log.collection).map(
        (index) => index.fields,
      );
      for (const query of [expiredBatch(log, NOW, 1_000, 10), excessBatch(log, 'a', 5, 10)]) {
        const fields = keyFields(query);
        expect(indexed.some((index) => fields.every((field, i) => index[i] === field))).toBe(true);
      }
    }
  });

  it('gives a sweep as many batches as its budget, then no more', () => {
    const budget = new SweepBudget(2);
    expect([budget.take(), budget.spent, budget.take(), budget.spent, budget.take()]).toEqual([
      true,
      false,
      true,
      true,
      false,
    ]);
  });
});
