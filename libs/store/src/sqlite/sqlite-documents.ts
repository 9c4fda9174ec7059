import type { Filter, Update } from '@drover/contracts';
import type Database from 'better-sqlite3';
import { type Collection, type Doc, type Documents, DuplicateKeyError, type FindOptions } from '../documents.port';
import { applyUpdate } from './doc-update';
import { whenUnlocked } from './sqlite-busy';
import { isConstraintError } from './sqlite-errors';
import { type SqlParam, filterToSql, jsonExtract, sortToSql } from './sqlite-filter';

const COLLECTION_NAME = /^[a-z][a-z0-9_]*$/;

interface DocRow {
  id: string;
  doc: string;
}

function parse(row: DocRow): Doc {
  return JSON.parse(row.doc) as Doc;
}

/** How many prepared statements one store keeps: the services run a few dozen shapes of query. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Prepared statements by SQL text. Preparing parses and plans the SQL, which costs more than
 * running a query by key; the SQL of a filter depends only on its shape (values are bound), so
 * the services' steady-state queries are prepared once. The oldest entry goes when it is full.
 */
class StatementCache {
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();

  constructor(private readonly db: Database.Database) {}

  get<P extends unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, statement);
    }
    return statement as unknown as Database.Statement<P, R>;
  }
}

/** Document collections over the `documents` table, queried with `json_extract`. */
export class SqliteDocuments implements Documents {
  private readonly statements: StatementCache;

  constructor(private readonly db: Database.Database) {
    this.statements = new StatementCache(db);
  }

  collection(name: string): Collection {
    if (!COLLECTION_NAME.test(name)) throw new Error(`invalid collection name "${name}"`);
    return new SqliteCollection(this.db, this.statements, name);
  }
}

/**
 * One collection. Its (validated) name is spliced into the SQL as a literal so that the
 * partial indexes of `ensureIndex` (`WHERE collection = '<name>'`) are usable; values are bound.
 */
class SqliteCollection implements Collection {
  private readonly scope: string;
  private readonly updateTx: (filter: Filter, update: Update) => number;

  constructor(
    private readonly db: Database.Database,
    private readonly statements: StatementCache,
    private readonly name: string,
  ) {
    this.scope = `collection = '${name}'`;
    const tx = db.transaction((filter: Filter, update: Update) => this.updateInTx(filter, update));
    this.updateTx = (filter, update) => tx.immediate(filter, update);
  }

  async find(filter?: Filter, options: FindOptions = {}): Promise<Doc[]> {
    const where = filterToSql(filter);
    const params: SqlParam[] = [...where.params, options.limit ?? -1, options.skip ?? 0];
    const sql = `SELECT id, doc FROM documents WHERE ${this.scope} AND (${where.sql}) ${sortToSql(options.sort, filter !== undefined)} LIMIT ? OFFSET ?`;
    const rows = await whenUnlocked(() => this.statements.get<SqlParam[], DocRow>(sql).all(...params));
    return rows.map(parse);
  }

  async findOne(filter?: Filter): Promise<Doc | undefined> {
    const [first] = await this.find(filter, { limit: 1 });
    return first;
  }

  async get(id: string): Promise<Doc | undefined> {
    const row = await whenUnlocked(() =>
      this.statements.get<[string], DocRow>(`SELECT id, doc FROM documents WHERE ${this.scope} AND id = ?`).get(id),
    );
    return row ? parse(row) : undefined;
  }

  async insert(doc: Doc): Promise<void> {
    await this.write(doc, 'INSERT INTO documents (collection, id, doc) VALUES (?, ?, ?)');
  }

  async upsert(doc: Doc): Promise<void> {
    await this.write(
      doc,
      `INSERT INTO documents (collection, id, doc) VALUES (?, ?, ?)
       ON CONFLICT (collection, id) DO UPDATE SET doc = excluded.doc`,
    );
  }

  async update(filter: Filter, update: Update): Promise<number> {
    return whenUnlocked(() => this.updateTx(filter, update));
  }

  async delete(filter: Filter): Promise<number> {
    const where = filterToSql(filter);
    const sql = `DELETE FROM documents WHERE ${this.scope} AND (${where.sql})`;
    return whenUnlocked(() => this.statements.get<SqlParam[]>(sql).run(...where.params).changes);
  }

  async count(filter?: Filter): Promise<number> {
    const where = filterToSql(filter);
    const sql = `SELECT COUNT(*) AS n FROM documents WHERE ${this.scope} AND (${where.sql})`;
    return whenUnlocked(() => this.statements.get<SqlParam[], { n: number }>(sql).get(...where.params)?.n ?? 0);
  }

  async ensureIndex(fields: string[], options: { unique?: boolean } = {}): Promise<void> {
    if (fields.length === 0) throw new Error('an index needs at least one field');
    const columns = ['collection', ...fields.map(jsonExtract)].join(', ');
    const indexName = `doc_${this.name}_${fields.join('_').replace(/\./g, '_')}`;
    const unique = options.unique ? 'UNIQUE ' : '';
    const sql = `CREATE ${unique}INDEX IF NOT EXISTS "${indexName}" ON documents (${columns}) WHERE ${this.scope}`;
    await whenUnlocked(() => this.db.exec(sql));
  }

  /** Runs an insert-like statement, mapping key and unique-index violations to DuplicateKeyError. */
  private async write(doc: Doc, sql: string): Promise<void> {
    try {
      const statement = this.statements.get<[string, string, string]>(sql);
      await whenUnlocked(() => statement.run(this.name, doc._id, JSON.stringify(doc)));
    } catch (error) {
      if (isConstraintError(error)) throw new DuplicateKeyError(this.name, doc._id);
      throw error;
    }
  }

  private updateInTx(filter: Filter, update: Update): number {
    const where = filterToSql(filter);
    const rows = this.statements
      .get<SqlParam[], DocRow>(`SELECT id, doc FROM documents WHERE ${this.scope} AND (${where.sql})`)
      .all(...where.params);
    const save = this.statements.get<[string, string]>(`UPDATE documents SET doc = ? WHERE ${this.scope} AND id = ?`);
    let changed = 0;
    for (const row of rows) {
      const next = JSON.stringify(applyUpdate(parse(row), update));
      if (next === row.doc) continue;
      this.saveChecked(save, next, row.id);
      changed += 1;
    }
    return changed;
  }

  private saveChecked(save: Database.Statement<[string, string]>, doc: string, id: string): void {
    try {
      save.run(doc, id);
    } catch (error) {
      if (isConstraintError(error)) throw new DuplicateKeyError(this.name, id);
      throw error;
    }
  }
}
