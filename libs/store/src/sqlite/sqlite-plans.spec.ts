import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import type { Filter, Sort } from '@drover/contracts';
import type { Store } from '../store.port';
import { filterToSql, sortToSql } from './sqlite-filter';
import { SQLITE_FILE_NAME, openSqliteStore } from './sqlite-store';

/**
 * The query plans SQLite picks for document lookups by `_id`, on a populated collection: the
 * primary key `(collection, id)` must serve them, never a scan that grows with the collection.
 * The statements are built by the same functions the collection uses.
 */
describe('sqlite store: lookups by _id use the primary key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-plans-'));
  let store: Store;
  let db: Database.Database;

  beforeAll(async () => {
    store = openSqliteStore({ dataDir: dir });
    const things = store.documents.collection('things');
    for (let i = 0; i < 200; i += 1) await things.insert({ _id: `t-${i}`, n: i });
    db = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
  });
  afterAll(async () => {
    db.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const plan = (filter: Filter) => {
    const where = filterToSql(filter);
    const sql = `SELECT id, doc FROM documents WHERE collection = 'things' AND (${where.sql}) ${sortToSql(undefined, true)} LIMIT ? OFFSET ?`;
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...where.params, -1, 0) as { detail: string }[];
    return rows.map((row) => row.detail).join('; ');
  };

  it('finds and updates by _id through the primary key', async () => {
    expect(plan({ field: '_id', op: 'eq', value: 't-7' })).toMatch(
      /USING (PRIMARY KEY|INDEX sqlite_autoindex_documents_1) \(collection=\? AND id=\?\)/,
    );
    expect(plan({ field: '_id', op: 'eq', value: 't-7' })).not.toMatch(/^SCAN|; SCAN/);
    // And the answers are the documents themselves.
    const things = store.documents.collection('things');
    expect(await things.find({ field: '_id', op: 'eq', value: 't-7' })).toEqual([{ _id: 't-7', n: 7 }]);
    expect(await things.update({ field: '_id', op: 'eq', value: 't-8' }, { set: { n: 80 } })).toBe(1);
    expect(await things.get('t-8')).toEqual({ _id: 't-8', n: 80 });
    expect(await things.find({ field: '_id', op: 'eq', value: 7 })).toEqual([]);
  });
});

/**
 * The plans of the read side's keyed pages and of retention's batches (docs/operations.md, "Retention"), on
 * indexes declared as the read side declares them: each reads one index range in order and
 * stops after its limit, never a scan or a sort of the whole collection, however large it grows.
 */
describe('sqlite store: keyed pages and batch deletes use their indexes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-plans-'));
  let store: Store;
  let db: Database.Database;

  beforeAll(async () => {
    store = openSqliteStore({ dataDir: dir });
    const log = store.documents.collection('log');
    await log.ensureIndex(['agentId', '_id']);
    await log.ensureIndex(['at']);
    await log.ensureIndex(['agentId', 'at']);
    for (let i = 0; i < 300; i += 1) {
      const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
      await log.insert({ _id: `${at}|m-${i}`, agentId: `a-${i % 3}`, at });
    }
    db = new Database(join(dir, SQLITE_FILE_NAME), { readonly: true });
  });
  afterAll(async () => {
    db.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const plan = (filter: Filter, sort: Sort) => {
    const where = filterToSql(filter);
    const sql = `SELECT id, doc FROM documents WHERE collection = 'log' AND (${where.sql}) ${sortToSql(sort, true)} LIMIT ? OFFSET ?`;
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...where.params, 10, 0) as { detail: string }[];
    return rows.map((row) => row.detail).join('; ');
  };
  const newestFirst: Sort = [{ field: '_id', direction: 'desc' }];

  it("pages one agent's entries newest first by (agentId, _id), with no sort step", () => {
    const agent: Filter = { field: 'agentId', op: 'eq', value: 'a-1' };
    const after: Filter = { and: [agent, { field: '_id', op: 'lt', value: '2026-01-01T00:02:00.000Z' }] };
    for (const filter of [agent, after]) {
      const detail = plan(filter, newestFirst);
      expect(detail).toMatch(/SEARCH documents USING INDEX doc_log_agentId__id \(collection=\? AND <expr>=\?/);
      expect(detail).not.toMatch(/TEMP B-TREE|SCAN/);
    }
  });

  // Ties on the time field are ordered by `id` (the tie-break that keeps pages stable): SQLite
  // sorts each run of equal keys as the index yields it ("LAST TERM"), and still stops at the limit.
  it('reads entries older than a time by the time index, oldest first', () => {
    const detail = plan({ field: 'at', op: 'lt', value: '2026-01-01T00:01:00.000Z' }, [
      { field: 'at', direction: 'asc' },
    ]);
    expect(detail).toMatch(/SEARCH documents USING INDEX doc_log_at \(collection=\? AND <expr><\?\)/);
    expect(detail).not.toMatch(/SCAN|TEMP B-TREE FOR ORDER BY/);
  });

  it("reads one agent's entries newest first by (agentId, time)", () => {
    const detail = plan({ field: 'agentId', op: 'eq', value: 'a-1' }, [{ field: 'at', direction: 'desc' }]);
    expect(detail).toMatch(/SEARCH documents USING INDEX doc_log_agentId_at \(collection=\? AND <expr>=\?\)/);
    expect(detail).not.toMatch(/SCAN|TEMP B-TREE FOR ORDER BY/);
  });

  it('walks a collection in _id order after a key through the primary key', () => {
    const detail = plan({ field: '_id', op: 'gt', value: 'a' }, [{ field: '_id', direction: 'asc' }]);
    expect(detail).toMatch(/USING (PRIMARY KEY|INDEX sqlite_autoindex_documents_1) \(collection=\? AND id>\?\)/);
    expect(detail).not.toMatch(/TEMP B-TREE|SCAN/);
  });

  it('deletes a batch by _id through the primary key', () => {
    const where = filterToSql({ field: '_id', op: 'in', value: ['x', 'y', 'z'] });
    const sql = `DELETE FROM documents WHERE collection = 'log' AND (${where.sql})`;
    const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...where.params) as { detail: string }[];
    const detail = rows.map((row) => row.detail).join('; ');
    expect(detail).toMatch(/USING (PRIMARY KEY|INDEX sqlite_autoindex_documents_1) \(collection=\? AND id=\?\)/);
    expect(detail).not.toMatch(/^SCAN|; SCAN/);
  });

  it('answers those queries with the documents themselves', async () => {
    const log = store.documents.collection('log');
    const page = await log.find(
      {
        and: [
          { field: 'agentId', op: 'eq', value: 'a-1' },
          { field: '_id', op: 'lt', value: '2026-01-01T00:00:10' },
        ],
      },
      { sort: newestFirst, limit: 2 },
    );
    expect(page.map((doc) => doc.at)).toEqual(['2026-01-01T00:00:07.000Z', '2026-01-01T00:00:04.000Z']);
    const oldest = await log.find(
      { field: 'at', op: 'lt', value: '2026-01-01T00:00:02.000Z' },
      { sort: [{ field: 'at', direction: 'asc' }] },
    );
    expect(oldest.map((doc) => doc.at)).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z']);
  });
});
