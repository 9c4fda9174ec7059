import type { AgentEvent } from '@drover/contracts';
import type Database from 'better-sqlite3';
import type { AgentStreams, AppendResult, Commit, Fence, NewCommit, OutboxMessage } from '../agent-streams.port';
import type { Outbox } from '../outbox.port';
import { whenUnlocked } from './sqlite-busy';
import { isConstraintError } from './sqlite-errors';

interface CommitRow {
  agent_id: string;
  version: number;
  command_id: string;
  events: string;
  outbox: string;
  committed_at: string;
  dispatched_at: string | null;
}

const COLUMNS = 'agent_id, version, command_id, events, outbox, committed_at, dispatched_at';

function toCommit(row: CommitRow): Commit {
  const commit: Commit = {
    agentId: row.agent_id,
    version: row.version,
    commandId: row.command_id,
    events: JSON.parse(row.events) as AgentEvent[],
    outbox: JSON.parse(row.outbox) as OutboxMessage[],
    committedAt: row.committed_at,
  };
  if (row.dispatched_at !== null) commit.dispatchedAt = row.dispatched_at;
  return commit;
}

/** Agent streams over the `commits` table; appends run in `BEGIN IMMEDIATE` transactions. */
export class SqliteAgentStreams implements AgentStreams {
  private readonly byCommand: Database.Statement<[string], CommitRow>;
  private readonly fromVersion: Database.Statement<[string, number], CommitRow>;
  private readonly head: Database.Statement<[string], { version: number | null }>;
  private readonly insert: Database.Statement<[string, number, string, string, string, string]>;
  private readonly leaseToken: Database.Statement<[string], { token: number }>;
  private readonly appendTx: (commit: NewCommit, fence: Fence) => AppendResult;

  constructor(private readonly db: Database.Database) {
    this.byCommand = db.prepare(`SELECT ${COLUMNS} FROM commits WHERE command_id = ?`);
    this.fromVersion = db.prepare(
      `SELECT ${COLUMNS} FROM commits WHERE agent_id = ? AND version >= ? ORDER BY version ASC`,
    );
    this.head = db.prepare('SELECT MAX(version) AS version FROM commits WHERE agent_id = ?');
    this.insert = db.prepare(
      'INSERT INTO commits (agent_id, version, command_id, events, outbox, committed_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.leaseToken = db.prepare('SELECT token FROM leases WHERE key = ?');
    const tx = db.transaction((commit: NewCommit, fence: Fence) => this.appendInTx(commit, fence));
    this.appendTx = (commit, fence) => tx.immediate(commit, fence);
  }

  async load(agentId: string, fromVersion = 1): Promise<Commit[]> {
    return (await whenUnlocked(() => this.fromVersion.all(agentId, fromVersion))).map(toCommit);
  }

  async append(commit: NewCommit, fence: Fence): Promise<AppendResult> {
    try {
      return await whenUnlocked(() => this.appendTx(commit, fence));
    } catch (error) {
      if (!isConstraintError(error)) throw error;
      const existing = await this.findByCommandId(commit.commandId);
      return existing ? { status: 'duplicate', commit: existing } : { status: 'conflict' };
    }
  }

  async findByCommandId(commandId: string): Promise<Commit | undefined> {
    return whenUnlocked(() => this.findSync(commandId));
  }

  private findSync(commandId: string): Commit | undefined {
    const row = this.byCommand.get(commandId);
    return row ? toCommit(row) : undefined;
  }

  /** One transaction, so the lease cannot change hands between the fence check and the insert. */
  private appendInTx(commit: NewCommit, fence: Fence): AppendResult {
    const existing = this.findSync(commit.commandId);
    if (existing) return { status: 'duplicate', commit: existing };
    if (this.leaseToken.get(fence.key)?.token !== fence.token) return { status: 'fenced' };
    const current = this.head.get(commit.agentId)?.version ?? 0;
    if (current !== commit.version - 1) return { status: 'conflict' };
    this.insert.run(
      commit.agentId,
      commit.version,
      commit.commandId,
      JSON.stringify(commit.events),
      JSON.stringify(commit.outbox),
      commit.committedAt,
    );
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
