import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Commit } from '../agent-streams.port';
import type { Doc } from '../documents.port';
import type { Store } from '../store.port';
import {
  COUNTER_COLLECTION,
  COUNTER_ID,
  INCREMENTS_COLLECTION,
  ITEMS_COLLECTION,
  RACED_COLLECTION,
  WRITER_AGENTS,
  type WriterReport,
} from '../testing/sqlite-writer';
import { openSqliteStore } from './sqlite-store';

const WORKERS = 4;
const ROUNDS = 40;
/** The compiled writer (jest's global setup builds `dist/` for this level). */
const WRITER_SCRIPT = join(__dirname, '../../../../dist/libs/store/src/testing/sqlite-writer.js');

interface Worker {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  stderr: string[];
  ready: Promise<void>;
  exit: Promise<number | null>;
}

function startWorker(dataDir: string, workerId: string): Worker {
  const child = spawn(process.execPath, [WRITER_SCRIPT, dataDir, workerId, String(ROUNDS)], {
    env: { ...process.env, DROVER_DATA_DIR: dataDir },
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line === 'ready') resolve();
    });
    void exit.then((code) => reject(new Error(`worker ${workerId} exited (${code}) before ready: ${stderr.join('')}`)));
  });
  return { child, lines, stderr, ready, exit };
}

describe('sqlite store shared by several processes', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-multiprocess-'));
  const reports: WriterReport[] = [];
  let store: Store;

  beforeAll(async () => {
    const workers = Array.from({ length: WORKERS }, (_, i) => startWorker(dataDir, `w${i}`));
    await Promise.all(workers.map((worker) => worker.ready));
    for (const worker of workers) worker.child.stdin.end('go\n');
    const codes = await Promise.all(workers.map((worker) => worker.exit));
    for (const [i, worker] of workers.entries()) {
      assert.equal(codes[i], 0, `worker w${i} failed: ${worker.stderr.join('')}`);
      const last = worker.lines[worker.lines.length - 1];
      assert.ok(last, `worker w${i} printed no report`);
      reports.push(JSON.parse(last) as WriterReport);
    }
    store = openSqliteStore({ dataDir });
  });

  afterAll(async () => {
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every stream contiguous with each command exactly once', async () => {
    const conflicts = reports.reduce((sum, report) => sum + report.conflicts, 0);
    console.info(`appends retried after a version conflict: ${conflicts}`);
    const appended = reports.flatMap((report) => report.appended);
    assert.equal(appended.length, WORKERS * ROUNDS, 'every worker appends once per round');
    const stored: Commit[] = [];
    for (let a = 0; a < WRITER_AGENTS; a += 1) {
      const stream = await store.streams.load(`agent-${a}`);
      expect(stream.map((commit) => commit.version)).toEqual(Array.from({ length: stream.length }, (_, i) => i + 1));
      stored.push(...stream);
    }
    assert.equal(stored.length, appended.length, 'total commits = successful appends reported');
    const commandIds = stored.map((commit) => commit.commandId);
    assert.equal(new Set(commandIds).size, commandIds.length, 'no commandId is stored twice');
    const expected = reports.flatMap((report) =>
      Array.from({ length: ROUNDS }, (_, i) => `${report.workerId}-cmd-${i}`),
    );
    expect([...commandIds].sort()).toEqual(expected.sort());
    const key = (c: { agentId: string; version: number; commandId: string }) =>
      `${c.agentId}:${c.version}:${c.commandId}`;
    expect(stored.map(key).sort()).toEqual(appended.map(key).sort());
  });

  it('loses no increment of the lease-protected counter', async () => {
    const increments = reports.reduce((sum, report) => sum + report.tokens.length, 0);
    expect(increments).toBe(WORKERS * ROUNDS);
    const counter = await store.documents.collection(COUNTER_COLLECTION).get(COUNTER_ID);
    expect(counter?.value).toBe(increments);
  });

  it('hands out strictly increasing fencing tokens', async () => {
    const log = await store.documents
      .collection(INCREMENTS_COLLECTION)
      .find(undefined, { sort: [{ field: 'value', direction: 'asc' }] });
    expect(log.map((entry: Doc) => entry.value)).toEqual(Array.from({ length: WORKERS * ROUNDS }, (_, i) => i + 1));
    const tokens = log.map((entry: Doc) => entry.token as number);
    for (let i = 1; i < tokens.length; i += 1) {
      assert.ok((tokens[i] ?? 0) > (tokens[i - 1] ?? 0), `token of increment ${i + 1} exceeds the previous one`);
    }
    for (const report of reports) {
      const own = report.tokens;
      assert.ok(
        own.every((token, i) => i === 0 || token > (own[i - 1] ?? 0)),
        `${report.workerId} saw growing tokens`,
      );
    }
  });

  it('keeps every inserted document and lets exactly one worker win each raced _id', async () => {
    expect(await store.documents.collection(ITEMS_COLLECTION).count()).toBe(WORKERS * ROUNDS);
    const won = reports.flatMap((report) => report.racedWon).sort();
    expect(won).toEqual(Array.from({ length: ROUNDS }, (_, i) => `raced-${i}`).sort());
    expect(await store.documents.collection(RACED_COLLECTION).count()).toBe(ROUNDS);
  });
});
