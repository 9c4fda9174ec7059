/**
 * A worker process for the SQLite multi-process test (sqlite-multiprocess.int-spec.ts):
 *
 *   node dist/libs/store/src/testing/sqlite-writer.js <dataDir> <workerId> <n>
 *
 * Opens the store in <dataDir>, prints `ready`, waits for a line on stdin (so that all workers
 * start together), then does <n> rounds of: append a commit to a shared agent (retrying on
 * conflict), increment a shared counter inside a lease, insert its own document and try to insert
 * a document every worker races for. Prints a JSON WriterReport as its last stdout line.
 * Imports are relative so that the compiled script runs without the path-alias rewrite.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuplicateKeyError } from '../documents.port';
import { openSqliteStore } from '../sqlite/sqlite-store';
import type { Store } from '../store.port';

export const WRITER_AGENTS = 3;
export const COUNTER_LOCK = 'counter-lock';
export const COUNTER_COLLECTION = 'counters';
export const COUNTER_ID = 'shared';
export const INCREMENTS_COLLECTION = 'increments';
export const ITEMS_COLLECTION = 'items';
export const RACED_COLLECTION = 'raced';

export interface WriterReport {
  workerId: string;
  /** Every append that returned `appended`. */
  appended: { agentId: string; version: number; commandId: string }[];
  conflicts: number;
  /** Fencing tokens of the leases under which the counter was incremented, in this worker's order. */
  tokens: number[];
  /** Ids of the raced documents this worker inserted first. */
  racedWon: string[];
}

/**
 * Races on versions alone: each writer appends under a lease of its own (never contended), so
 * what decides between writers is the stream's optimistic version check.
 */
async function appendWithRetry(store: Store, agentId: string, commandId: string, report: WriterReport): Promise<void> {
  const fence = await store.locks.acquire(`writer:${report.workerId}`, report.workerId, 600_000);
  if (!fence) throw new Error(`writer ${report.workerId} has no lease of its own`);
  for (;;) {
    const stream = await store.streams.load(agentId);
    const version = (stream[stream.length - 1]?.version ?? 0) + 1;
    const result = await store.streams.append(
      {
        agentId,
        version,
        commandId,
        events: [{ type: 'agent.stopped', data: {} }],
        outbox: [],
        committedAt: new Date().toISOString(),
      },
      fence,
    );
    if (result.status === 'appended') {
      report.appended.push({ agentId, version, commandId });
      return;
    }
    if (result.status === 'duplicate') throw new Error(`command ${commandId} reported as duplicate`);
    report.conflicts += 1;
  }
}

/** Read-modify-write of the counter, only while holding the lease (the lease is what prevents lost updates). */
async function incrementUnderLease(store: Store, workerId: string, report: WriterReport): Promise<void> {
  for (;;) {
    // The TTL is far longer than the critical section; the test is about exclusion, not expiry.
    const lease = await store.locks.acquire(COUNTER_LOCK, workerId, 60_000);
    if (!lease) {
      await sleep(1);
      continue;
    }
    try {
      const counters = store.documents.collection(COUNTER_COLLECTION);
      const current = await counters.get(COUNTER_ID);
      const value = typeof current?.value === 'number' ? current.value : 0;
      await sleep(0); // yield, so that a missing exclusion would show up as a lost update
      await counters.upsert({ _id: COUNTER_ID, value: value + 1 });
      // Which lease (token) wrote which counter value: tokens must grow with the value.
      await store.documents
        .collection(INCREMENTS_COLLECTION)
        .insert({ _id: `v${value + 1}`, value: value + 1, token: lease.token, workerId });
      report.tokens.push(lease.token);
    } finally {
      await store.locks.release(lease);
    }
    return;
  }
}

async function waitForGo(): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  await new Promise<void>((resolve) => lines.once('line', () => resolve()));
  lines.close();
}

async function main(): Promise<void> {
  const [dataDir, workerId, count] = process.argv.slice(2);
  const n = Number(count);
  if (!dataDir || !workerId || !Number.isInteger(n) || n < 1) {
    throw new Error('usage: sqlite-writer <dataDir> <workerId> <n>');
  }
  const store = openSqliteStore({ dataDir });
  const report: WriterReport = { workerId, appended: [], conflicts: 0, tokens: [], racedWon: [] };
  try {
    process.stdout.write('ready\n');
    await waitForGo();
    for (let i = 0; i < n; i += 1) {
      await appendWithRetry(store, `agent-${i % WRITER_AGENTS}`, `${workerId}-cmd-${i}`, report);
      await incrementUnderLease(store, workerId, report);
      await store.documents.collection(ITEMS_COLLECTION).insert({ _id: `${workerId}-item-${i}`, workerId, i });
      try {
        await store.documents.collection(RACED_COLLECTION).insert({ _id: `raced-${i}`, workerId });
        report.racedWon.push(`raced-${i}`);
      } catch (error) {
        if (!(error instanceof DuplicateKeyError)) throw error;
      }
    }
  } finally {
    await store.close();
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
