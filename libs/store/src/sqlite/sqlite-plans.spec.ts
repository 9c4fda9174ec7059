import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import type { Filter } from '@drover/contracts';
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
