import type { AgentEvent } from '@drover/contracts';
import type Database from 'better-sqlite3';
import type {
  AgentStreams,
  AppendResult,
  Commit,
  CommitRef,
  Fence,
  NewCommit,
  OutboxMessage,
  Snapshot,
  StreamHead,
} from '../agent-streams.port';
import type { Outbox } from '../outbox.port';
import { checkSnapshot } from '../check-snapshot';
import { whenUnlocked } from './sqlite-busy';
import { isConstraintError } from './sqlite-errors';

interface CommitRow {
  agent_id: string;
  version: number;
  command_id: string;
  command_type: string | null;
  events: string;
  outbox: string;
  committed_at: string;
  dispatched_at: string | null;
}

interface SnapshotRow {
  version: number;
  state: string;
  taken_at: string;
}

const COLUMNS = 'agent_id, version, command_id, command_type, events, outbox, committed_at, dispatched_at';

function toCommit(row: CommitRow): Commit {
  const commit: Commit = {
    agentId: row.agent_id,
    version: row.version,
    commandId: row.command_id,
    events: JSON.parse(row.events) as AgentEvent[],
    outbox: JSON.parse(row.outbox) as OutboxMessage[],
    committedAt: row.committed_at,
  };
  if (row.command_type !== null) commit.commandType = row.command_type;
  if (row.dispatched_at !== null) commit.dispatchedAt = row.dispatched_at;
  return commit;
}

function toRef(row: CommitRow): CommitRef {
  const ref: CommitRef = { agentId: row.agent_id, version: row.version, commandId: row.command_id };
  if (row.command_type !== null) ref.commandType = row.command_type;
  return ref;
}

/**
 * Agent streams over the `commits` table; appends run in `BEGIN IMMEDIATE` transactions. A
 * snapshot is one row per agent in `snapshots`; the commits it covers stay (they are the
 * agent's history, and their unique `command_id` is what makes a repeated command a duplicate),
 * but loading the head reads only the commits after it, through the primary key.
 */
export class SqliteAgentStreams implements AgentStreams {
  private readonly byCommand: Database.Statement<[string], CommitRow>;
  private readonly fromVersion: Database.Statement<[string, number], CommitRow>;
  private readonly head: Database.Statement<[string], { version: number | null }>;
  private readonly insert: Database.Statement<[string, number, string, string | null, string, string, string]>;
  private readonly leaseToken: Database.Statement<[string], { token: number }>;
  private readonly snapshotOf: Database.Statement<[string], SnapshotRow>;
  private readonly saveSnapshot: Database.Statement<[string, number, string, string]>;
  private readonly appendTx: (commit: NewCommit, fence: Fence, snapshot?: Snapshot) => AppendResult;
  private readonly headTx: (agentId: string) => StreamHead;

  constructor(private readonly db: Database.Database) {
    this.byCommand = db.prepare(`SELECT ${COLUMNS} FROM commits WHERE command_id = ?`);
    this.fromVersion = db.prepare(
      `SELECT ${COLUMNS} FROM commits WHERE agent_id = ? AND version >= ? ORDER BY version ASC`,
    );
    this.head = db.prepare('SELECT MAX(version) AS version FROM commits WHERE agent_id = ?');
    this.insert = db.prepare(
      'INSERT INTO commits (agent_id, version, command_id, command_type, events, outbox, committed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.leaseToken = db.prepare('SELECT token FROM leases WHERE key = ?');
    this.snapshotOf = db.prepare('SELECT version, state, taken_at FROM snapshots WHERE agent_id = ?');
    this.saveSnapshot = db.prepare(
      `INSERT INTO snapshots (agent_id, version, state, taken_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET version = excluded.version, state = excluded.state, taken_at = excluded.taken_at`,
    );
    const tx = db.transaction((commit: NewCommit, fence: Fence, snapshot?: Snapshot) =>
      this.appendInTx(commit, fence, snapshot),
    );
    this.appendTx = (commit, fence, snapshot) => tx.immediate(commit, fence, snapshot);
    // One read transaction, so the snapshot and the commits after it are of the same moment.
    this.headTx = db.transaction((agentId: string) => this.headInTx(agentId));
  }

  async load(agentId: string, fromVersion = 1): Promise<Commit[]> {
    return (await whenUnlocked(() => this.fromVersion.all(agentId, fromVersion))).map(toCommit);
  }

  async loadHead(agentId: string): Promise<StreamHead> {
    return whenUnlocked(() => this.headTx(agentId));
  }

  async append(commit: NewCommit, fence: Fence, snapshot?: Snapshot): Promise<AppendResult> {
    checkSnapshot(commit, snapshot);
    try {
      return await whenUnlocked(() => this.appendTx(commit, fence, snapshot));
    } catch (error) {
      if (!isConstraintError(error)) throw error;
      const existing = await this.findByCommandId(commit.commandId);
      return existing ? { status: 'duplicate', commit: existing } : { status: 'conflict' };
    }
  }

  async findByCommandId(commandId: string): Promise<CommitRef | undefined> {
    return whenUnlocked(() => this.findSync(commandId));
  }

  private findSync(commandId: string): CommitRef | undefined {
    const row = this.byCommand.get(commandId);
    return row ? toRef(row) : undefined;
  }

  private headInTx(agentId: string): StreamHead {
    const row = this.snapshotOf.get(agentId);
    const snapshot: Snapshot | undefined = row && {
      version: row.version,
      state: JSON.parse(row.state) as Record<string, unknown>,
      takenAt: row.taken_at,
    };
    const commits = this.fromVersion.all(agentId, (snapshot?.version ?? 0) + 1).map(toCommit);
    return snapshot ? { snapshot, commits } : { commits };
  }

  /** One transaction, so the lease cannot change hands between the fence check and the insert. */
  private appendInTx(commit: NewCommit, fence: Fence, snapshot?: Snapshot): AppendResult {
    const existing = this.findSync(commit.commandId);
    if (existing) return { status: 'duplicate', commit: existing };
    if (this.leaseToken.get(fence.key)?.token !== fence.token) return { status: 'fenced' };
    const current = this.head.get(commit.agentId)?.version ?? 0;
    if (current !== commit.version - 1) return { status: 'conflict' };
    this.insert.run(
      commit.agentId,
      commit.version,
      commit.commandId,
      commit.commandType ?? null,
      JSON.stringify(commit.events),
      JSON.stringify(commit.outbox),
      commit.committedAt,
    );
    if (snapshot) {
      this.saveSnapshot.run(commit.agentId, snapshot.version, JSON.stringify(snapshot.state), snapshot.takenAt);
    }
    return { status: 'appended', commit: { ...commit } };
  }
}

/** The transactional outbox: commits whose `dispatched_at` is still NULL. */
export class SqliteOutbox implements Outbox {
  private readonly all: Database.Statement<[number], CommitRow>;
  private readonly before: Database.Statement<[string, number], CommitRow>;
  private readonly mark: Database.Statement<[string, string, number]>;

  constructor(db: Database.Database) {
    const order = 'ORDER BY committed_at ASC, agent_id ASC, version ASC LIMIT ?';
    this.all = db.prepare(`SELECT ${COLUMNS} FROM commits WHERE dispatched_at IS NULL ${order}`);
    this.before = db.prepare(
      `SELECT ${COLUMNS} FROM commits WHERE dispatched_at IS NULL AND committed_at < ? ${order}`,
    );
    this.mark = db.prepare('UPDATE commits SET dispatched_at = ? WHERE agent_id = ? AND version = ?');
  }

  async pending(limit: number, committedBefore?: string): Promise<Commit[]> {
    const rows = await whenUnlocked(() =>
      committedBefore === undefined ? this.all.all(limit) : this.before.all(committedBefore, limit),
    );
    return rows.map(toCommit);
  }

  async markDispatched(agentId: string, version: number, at: string): Promise<void> {
    await whenUnlocked(() => this.mark.run(at, agentId, version));
  }
}
