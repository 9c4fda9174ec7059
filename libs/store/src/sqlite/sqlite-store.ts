import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Store } from '../store.port';
import { ATTEMPT_BUSY_TIMEOUT_MS, whenUnlocked } from './sqlite-busy';
import { SqliteDocuments } from './sqlite-documents';
import { SqliteLocks } from './sqlite-locks';
import { SqliteAgentStreams, SqliteOutbox } from './sqlite-streams';

/** Where the SQLite store lives: a data directory (file `drover.sqlite`) or an explicit file. */
export type SqliteStoreOptions = { dataDir: string } | { filename: string };

/** File name of the store inside a data directory. */
export const SQLITE_FILE_NAME = 'drover.sqlite';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS commits (
    agent_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    command_id TEXT NOT NULL UNIQUE,
    command_type TEXT,
    events TEXT NOT NULL,
    outbox TEXT NOT NULL,
    committed_at TEXT NOT NULL,
    dispatched_at TEXT,
    PRIMARY KEY (agent_id, version)
  );
  CREATE INDEX IF NOT EXISTS commits_pending ON commits (dispatched_at, committed_at);
  CREATE TABLE IF NOT EXISTS snapshots (
    agent_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    taken_at TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    token INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (collection, id)
  );
`;

function filenameOf(options: SqliteStoreOptions): string {
  if ('filename' in options) return options.filename;
  // The store holds sealed secrets and every agent's history: only its owner reads it.
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const filename = join(options.dataDir, SQLITE_FILE_NAME);
  keepPrivate(filename);
  return filename;
}

/**
 * Creates the store file readable by its owner only, or narrows an older one (SQLite creates its
 * files 0644 under the usual umask). SQLite gives the `-wal` and `-shm` files the mode of the
 * database file, so they follow.
 */
function keepPrivate(filename: string): void {
  if (!existsSync(filename)) closeSync(openSync(filename, 'a', 0o600));
  chmodSync(filename, 0o600);
  for (const companion of [`${filename}-wal`, `${filename}-shm`]) {
    if (existsSync(companion)) chmodSync(companion, 0o600);
  }
}

function configure(db: Database.Database, filename: string): void {
  if (filename !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma(`busy_timeout = ${ATTEMPT_BUSY_TIMEOUT_MS}`);
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
}

/** How long the readiness probe tries for the write lock before it reports the store unavailable. */
const PROBE_PATIENCE_MS = 250;

/**
 * The readiness probe: takes the write lock and lets it go at once. A read (`SELECT 1`) would
 * pass while another process holds the lock for good (WAL lets readers through), although no
 * write can happen; the probe tries for a short time, not the writers' five seconds, so it
 * answers while the store is stuck.
 */
function writeProbe(db: Database.Database): () => Promise<void> {
  const begin = db.prepare('BEGIN IMMEDIATE');
  const rollback = db.prepare('ROLLBACK');
  return async () => {
    await whenUnlocked(() => {
      begin.run();
      rollback.run();
    }, PROBE_PATIENCE_MS);
  };
}

/**
 * Stores made before commits recorded their message's type gain the column (NULL for the old
 * commits). Another process opening the same file may add it first: that is not an error.
 */
function addCommandType(db: Database.Database): void {
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(commits)').all();
  if (columns.some((column) => column.name === 'command_type')) return;
  try {
    db.exec('ALTER TABLE commits ADD COLUMN command_type TEXT');
  } catch (error) {
    if (!/duplicate column name/.test((error as Error).message)) throw error;
  }
}

/**
 * Opens the embedded store: every port over one better-sqlite3 connection. Several processes
 * may share the file; read-then-write operations run in `BEGIN IMMEDIATE` transactions.
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const filename = filenameOf(options);
  const db = new Database(filename);
  configure(db, filename);
  db.exec(SCHEMA);
  addCommandType(db);
  const probe = writeProbe(db);
  return {
    kind: 'sqlite',
    streams: new SqliteAgentStreams(db),
    outbox: new SqliteOutbox(db),
    locks: new SqliteLocks(db),
    documents: new SqliteDocuments(db),
    ping: probe,
    close: async () => {
      db.close();
    },
  };
}
