import type { AgentEvent } from '@drover/contracts';
import type { Collection, Db, IndexDescription } from 'mongodb';
import type { AgentStreams, AppendResult, Commit, NewCommit, OutboxMessage } from '../agent-streams.port';
import type { Outbox } from '../outbox.port';
import { isDuplicateKeyError } from './mongo-errors';

/** A commit as stored in the `commits` collection. */
export interface CommitDoc {
  /** `${agentId}:${version}`: readable, and unique because the version never contains `:`. */
  _id: string;
  agentId: string;
  version: number;
  commandId: string;
  events: AgentEvent[];
  outbox: OutboxMessage[];
  committedAt: string;
  dispatchedAt?: string;
}

export const COMMITS = 'commits';

/** The indexes that make appends safe: the uniqueness of (agentId, version) and of commandId. */
export const COMMIT_INDEXES: readonly IndexDescription[] = [
  { key: { agentId: 1, version: 1 }, name: 'agent_version', unique: true },
  { key: { commandId: 1 }, name: 'command_id', unique: true },
  { key: { dispatchedAt: 1, committedAt: 1 }, name: 'pending' },
];

/**
 * Creates the commit indexes, one `createIndexes` command per index: idempotent on MongoDB either
 * way, but FerretDB 1.24 drops the connection (a server-side panic) when one command names two or
 * more indexes that already exist, which is what every open after the first would send
 * (ARCHITECTURE.md, "MongoDB 7 vs FerretDB 1.24").
 */
export async function ensureCommitIndexes(db: Db): Promise<void> {
  const commits = db.collection<CommitDoc>(COMMITS);
  for (const index of COMMIT_INDEXES) await commits.createIndexes([index]);
}

function toCommit(doc: CommitDoc): Commit {
  const commit: Commit = {
    agentId: doc.agentId,
    version: doc.version,
    commandId: doc.commandId,
    events: doc.events,
    outbox: doc.outbox,
    committedAt: doc.committedAt,
  };
  if (doc.dispatchedAt !== undefined && doc.dispatchedAt !== null) commit.dispatchedAt = doc.dispatchedAt;
  return commit;
}

/**
 * Agent streams over the `commits` collection, without transactions (a standalone server has none).
 *
 * Why the append is safe: an append of version v is inserted only after reading the stream's head
 * as v - 1, and commits are never deleted. By induction every stored version's predecessor existed
 * before it was inserted, so a stream is always 1..head with no gap. A stale read can only lead to
 * inserting a version that already exists, which the unique (agentId, version) index refuses, so
 * of two concurrent appends of the same version exactly one wins and the other gets `conflict`.
 * The unique commandId index likewise makes a command commit at most once across all streams.
 */
export class MongoAgentStreams implements AgentStreams {
  constructor(private readonly commits: Collection<CommitDoc>) {}

  async load(agentId: string, fromVersion = 1): Promise<Commit[]> {
    const docs = await this.commits
      .find({ agentId, version: { $gte: fromVersion } })
      .sort({ version: 1 })
      .toArray();
    return docs.map(toCommit);
  }

  /**
   * Head check, then insert. Whenever the append cannot go in (stale head or duplicate key), the
   * command is looked up: if it committed earlier (even concurrently, a moment ago) the answer is
   * `duplicate`, otherwise `conflict`. (A duplicate-key error names only one violated index in
   * `keyPattern` although a write can violate both; commits are never deleted, so the lookup is
   * the authoritative answer.)
   */
  async append(commit: NewCommit): Promise<AppendResult> {
    const head = await this.commits.findOne(
      { agentId: commit.agentId },
      { sort: { version: -1 }, projection: { version: 1 } },
    );
    if ((head?.version ?? 0) !== commit.version - 1) return this.duplicateOrConflict(commit.commandId);
    const doc: CommitDoc = {
      _id: `${commit.agentId}:${commit.version}`,
      agentId: commit.agentId,
      version: commit.version,
      commandId: commit.commandId,
      events: commit.events,
      outbox: commit.outbox,
      committedAt: commit.committedAt,
    };
    try {
      await this.commits.insertOne(doc);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      return this.duplicateOrConflict(commit.commandId);
    }
    return { status: 'appended', commit: { ...commit } };
  }

  async findByCommandId(commandId: string): Promise<Commit | undefined> {
    const doc = await this.commits.findOne({ commandId });
    return doc ? toCommit(doc) : undefined;
  }

  private async duplicateOrConflict(commandId: string): Promise<AppendResult> {
    const earlier = await this.findByCommandId(commandId);
    return earlier ? { status: 'duplicate', commit: earlier } : { status: 'conflict' };
  }
}

/** The transactional outbox: commits without `dispatchedAt`. */
export class MongoOutbox implements Outbox {
  constructor(private readonly commits: Collection<CommitDoc>) {}

  async pending(limit: number, committedBefore?: string): Promise<Commit[]> {
    // MongoDB reads limit 0 as "no limit"; the port (like SQLite's LIMIT 0) means none.
    if (limit === 0) return [];
    const filter =
      committedBefore === undefined
        ? { dispatchedAt: { $exists: false } }
        : { dispatchedAt: { $exists: false }, committedAt: { $lt: committedBefore } };
    const cursor = this.commits.find(filter).sort({ committedAt: 1, agentId: 1, version: 1 });
    if (limit > 0) cursor.limit(limit);
    return (await cursor.toArray()).map(toCommit);
  }

  async markDispatched(agentId: string, version: number, at: string): Promise<void> {
    await this.commits.updateOne({ agentId, version }, { $set: { dispatchedAt: at } });
  }
}
