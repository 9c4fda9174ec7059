import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentEvent } from '@drover/contracts';
import type { Collection, Db, IndexDescription } from 'mongodb';
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
import { checkSnapshot } from '../check-snapshot';
import type { Outbox } from '../outbox.port';
import type { LeaseDoc } from './mongo-locks';
import { isDuplicateKeyError } from './mongo-errors';

/** A commit as embedded in its stream document. */
export interface CommitDoc {
  version: number;
  commandId: string;
  commandType?: string;
  events: AgentEvent[];
  outbox: OutboxMessage[];
  committedAt: string;
  dispatchedAt?: string;
}

/**
 * One agent's stream: its commits in version order, the head version, and the highest fencing
 * token an append used. Every read and write of a stream is by `_id`, the one index every
 * MongoDB protocol server serves (FerretDB 1.24 serves no other: ARCHITECTURE.md).
 */
export interface StreamDoc {
  /** The agent id. */
  _id: string;
  version: number;
  token: number;
  commits: CommitDoc[];
  /** `committedAt` of the oldest commit not relayed yet; absent when all are relayed. */
  pendingSince?: string;
  /** Bumped by every change of dispatch state: the optimistic check of `markDispatched`. */
  dispatchSeq: number;
  /** The state up to `snapshot.version`; the relayed commits it covers are dropped from `commits`. */
  snapshot?: Snapshot;
}

/**
 * Which stream and version committed a command: the claim that makes a command id unique across
 * all streams. Written before the stream's append; a claim whose commit never landed is void.
 */
export interface CommandDoc {
  /** The command's messageId. */
  _id: string;
  agentId: string;
  version: number;
  /** The message's type (`Commit.commandType`), absent on claims made before it was recorded. */
  type?: string;
  token: number;
  claimedAt: number;
  /** Tells this claim from a later claim of the same command by the same writer. */
  nonce: string;
  /** Set before the commit is dropped under a snapshot: the claim is then proof on its own. */
  committed?: boolean;
}

export const STREAMS = 'streams';
export const COMMANDS = 'commands';

/**
 * A claim older than this whose commit is not in its stream belongs to a writer that died
 * between the claim and the append (or lost its lease); another stream may then claim the id.
 */
const ABANDONED_CLAIM_MS = 60_000;

/** How long an append waits for another live claim of its command to commit or go away. */
const CLAIM_WAIT_MS = 2_000;
const CLAIM_POLL_MS = 20;

/** The outbox sweep's index: streams with commits not relayed yet, oldest first. */
export const STREAM_INDEXES: readonly IndexDescription[] = [
  { key: { pendingSince: 1 }, name: 'pending', sparse: true },
];

/**
 * Creates the stream indexes, one `createIndexes` command per index: idempotent on MongoDB either
 * way, but FerretDB 1.24 drops the connection (a server-side panic) when one command names two or
 * more indexes that already exist (ARCHITECTURE.md, "MongoDB 7 vs FerretDB 1.24").
 */
export async function ensureStreamIndexes(db: Db): Promise<void> {
  const streams = db.collection<StreamDoc>(STREAMS);
  for (const index of STREAM_INDEXES) await streams.createIndexes([index]);
}

function commitDoc(commit: NewCommit): CommitDoc {
  return {
    version: commit.version,
    commandId: commit.commandId,
    ...(commit.commandType ? { commandType: commit.commandType } : {}),
    events: commit.events,
    outbox: commit.outbox,
    committedAt: commit.committedAt,
  };
}

function toCommit(agentId: string, doc: CommitDoc): Commit {
  const commit: Commit = {
    agentId,
    version: doc.version,
    commandId: doc.commandId,
    events: doc.events,
    outbox: doc.outbox,
    committedAt: doc.committedAt,
  };
  if (doc.dispatchedAt !== undefined && doc.dispatchedAt !== null) commit.dispatchedAt = doc.dispatchedAt;
  if (doc.commandType) commit.commandType = doc.commandType;
  return commit;
}

const refOf = (agentId: string, doc: CommitDoc): CommitRef => ({
  agentId,
  version: doc.version,
  commandId: doc.commandId,
  ...(doc.commandType ? { commandType: doc.commandType } : {}),
});

function commitAt(stream: StreamDoc | null, version: number): CommitDoc | undefined {
  const first = stream?.commits[0]?.version ?? 1;
  const found = stream?.commits[version - first];
  return found?.version === version ? found : undefined;
}

/**
 * Agent streams without transactions (a standalone server or FerretDB has none): each append is
 * ONE conditional update of the stream document, so it is atomic on any MongoDB protocol server.
 *
 * - Linear history: the update matches only a stream at `version - 1` (or inserts version 1,
 *   which the `_id` index lets happen once).
 * - Fencing: the append first reads the lease and refuses a token that is not current; the
 *   update then also requires `token <= fence.token` and raises the stream's token. Once a newer
 *   holder has appended, nothing an older holder sends can land, even if it read the lease
 *   before it was taken over. An older holder's append that lands before the newer holder's
 *   first append is simply the last commit the newer holder loads and decides on.
 * - Command ids: a command is claimed in `commands` (by `_id`) before the append. A claim that
 *   points at a commit in its stream makes the command a duplicate; a claim whose commit never
 *   landed is taken over by a newer token of the same stream, or by anyone once abandoned.
 */
export class MongoAgentStreams implements AgentStreams {
  constructor(
    private readonly streams: Collection<StreamDoc>,
    private readonly commands: Collection<CommandDoc>,
    private readonly leases: Collection<LeaseDoc>,
  ) {}

  async load(agentId: string, fromVersion = 1): Promise<Commit[]> {
    const stream = await this.streams.findOne({ _id: agentId });
    return (stream?.commits ?? []).filter((c) => c.version >= fromVersion).map((c) => toCommit(agentId, c));
  }

  async loadHead(agentId: string): Promise<StreamHead> {
    const stream = await this.streams.findOne({ _id: agentId });
    const snapshot = stream?.snapshot;
    const commits = (stream?.commits ?? [])
      .filter((c) => c.version > (snapshot?.version ?? 0))
      .map((c) => toCommit(agentId, c));
    return snapshot ? { snapshot, commits } : { commits };
  }

  async append(commit: NewCommit, fence: Fence, snapshot?: Snapshot): Promise<AppendResult> {
    checkSnapshot(commit, snapshot);
    const claim = await this.claim(commit, fence);
    if (typeof claim !== 'string') return claim;
    const lease = await this.leases.findOne({ _id: fence.key }, { projection: { token: 1 } });
    const result =
      lease?.token !== fence.token
        ? { status: 'fenced' as const }
        : snapshot && commit.version > 1
          ? await this.appendWithSnapshot(commit, fence, snapshot)
          : await this.appendClaimed(commit, fence, snapshot);
    if (result.status === 'fenced' || result.status === 'conflict') {
      await this.commands.deleteOne({ _id: commit.commandId, nonce: claim });
    }
    return result;
  }

  async findByCommandId(commandId: string): Promise<CommitRef | undefined> {
    const claim = await this.commands.findOne({ _id: commandId });
    return claim ? this.committedBy(claim) : undefined;
  }

  private async appendClaimed(commit: NewCommit, fence: Fence, snapshot?: Snapshot): Promise<AppendResult> {
    const doc = commitDoc(commit);
    const appended: AppendResult = { status: 'appended', commit: { ...commit } };
    if (commit.version === 1) {
      try {
        await this.streams.insertOne({
          _id: commit.agentId,
          version: 1,
          token: fence.token,
          commits: [doc],
          pendingSince: commit.committedAt,
          dispatchSeq: 0,
          ...(snapshot ? { snapshot } : {}),
        });
        return appended;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        return this.refusal(commit, fence);
      }
    }
    const { matchedCount } = await this.streams.updateOne(
      { _id: commit.agentId, version: commit.version - 1, token: { $lte: fence.token } },
      {
        $set: { version: commit.version, token: fence.token },
        $push: { commits: doc },
        $min: { pendingSince: commit.committedAt },
        $inc: { dispatchSeq: 1 },
      },
    );
    return matchedCount === 1 ? appended : this.refusal(commit, fence);
  }

  /**
   * The append that also stores a snapshot and drops the commits it covers, so the stream
   * document stays small (and far from MongoDB's 16 MB document limit) however long the agent
   * lives. Only a relayed prefix is dropped, so the kept commits stay contiguous and nothing
   * unrelayed is lost. Their claims are marked committed first, so a command repeated later is
   * still a duplicate. The update replaces the commit list, so it also requires the
   * `dispatchSeq` it read: a dispatch marked meanwhile makes it a conflict, decided again.
   */
  private async appendWithSnapshot(commit: NewCommit, fence: Fence, snapshot: Snapshot): Promise<AppendResult> {
    const stream = await this.streams.findOne({ _id: commit.agentId });
    if (!stream || stream.version !== commit.version - 1) return this.refusal(commit, fence);
    const firstKept = stream.commits.findIndex((c) => c.version > snapshot.version || !c.dispatchedAt);
    const dropped = firstKept === -1 ? stream.commits : stream.commits.slice(0, firstKept);
    const kept = [...stream.commits.slice(dropped.length), commitDoc(commit)];
    for (const c of dropped) {
      await this.commands.updateOne({ _id: c.commandId }, { $set: { committed: true, version: c.version } });
    }
    const pendingSince = kept
      .filter((c) => !c.dispatchedAt)
      .map((c) => c.committedAt)
      .sort()[0];
    const { matchedCount } = await this.streams.updateOne(
      {
        _id: commit.agentId,
        version: commit.version - 1,
        token: { $lte: fence.token },
        dispatchSeq: stream.dispatchSeq,
      },
      {
        $set: { version: commit.version, token: fence.token, commits: kept, snapshot, pendingSince },
        $inc: { dispatchSeq: 1 },
      },
    );
    return matchedCount === 1 ? { status: 'appended', commit: { ...commit } } : this.refusal(commit, fence);
  }

  /**
   * Why a stream update did not match: the command is in the stream already (an older holder
   * of the lease committed it after this claim took its claim over: point the claim back at
   * it), a newer token appended (fenced), or the stream is at another version (conflict).
   */
  private async refusal(commit: NewCommit, fence: Fence): Promise<AppendResult> {
    const stream = await this.streams.findOne({ _id: commit.agentId });
    const earlier = stream?.commits.find((c) => c.commandId === commit.commandId);
    if (earlier) {
      await this.commands.updateOne({ _id: commit.commandId }, { $set: { version: earlier.version } });
      return { status: 'duplicate', commit: refOf(commit.agentId, earlier) };
    }
    return (stream?.token ?? 0) > fence.token ? { status: 'fenced' } : { status: 'conflict' };
  }

  /**
   * Records that `commit.commandId` is being committed to this stream; returns the claim's
   * nonce. Answers `duplicate` when the command is committed already. Another live claim of
   * the command is waited for (it commits or goes away); one of an older lease of this stream,
   * or one abandoned, is taken over.
   */
  private async claim(commit: NewCommit, fence: Fence): Promise<string | AppendResult> {
    const mine: CommandDoc = {
      _id: commit.commandId,
      agentId: commit.agentId,
      version: commit.version,
      ...(commit.commandType ? { type: commit.commandType } : {}),
      token: fence.token,
      claimedAt: Date.now(),
      nonce: randomUUID(),
    };
    const deadline = Date.now() + CLAIM_WAIT_MS;
    while (Date.now() < deadline) {
      try {
        await this.commands.insertOne(mine);
        return mine.nonce;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const theirs = await this.commands.findOne({ _id: commit.commandId });
      if (!theirs) continue; // released in between: claim again
      const earlier = await this.committedBy(theirs);
      if (earlier) return { status: 'duplicate', commit: earlier };
      const takeOver =
        (theirs.agentId === commit.agentId && theirs.token < fence.token) ||
        theirs.claimedAt < Date.now() - ABANDONED_CLAIM_MS;
      if (takeOver) {
        const { matchedCount } = await this.commands.replaceOne({ _id: theirs._id, nonce: theirs.nonce }, mine);
        if (matchedCount === 1) return mine.nonce;
      } else {
        await sleep(CLAIM_POLL_MS);
      }
    }
    return { status: 'conflict' };
  }

  /**
   * The commit a claim points at, if it landed (a claim is void otherwise): found in its
   * stream, or marked committed when a snapshot dropped it.
   */
  private async committedBy(claim: CommandDoc): Promise<CommitRef | undefined> {
    const type = claim.type ? { commandType: claim.type } : {};
    if (claim.committed) return { agentId: claim.agentId, version: claim.version, commandId: claim._id, ...type };
    const stream = await this.streams.findOne({ _id: claim.agentId });
    const found = commitAt(stream, claim.version);
    return found?.commandId === claim._id ? { ...refOf(claim.agentId, found), ...type } : undefined;
  }
}

/**
 * The transactional outbox: commits without `dispatchedAt`, found through their stream's
 * `pendingSince`. One agent's commits are relayed in version order, so a stream is pending
 * from its oldest unrelayed commit on.
 */
export class MongoOutbox implements Outbox {
  constructor(private readonly streams: Collection<StreamDoc>) {}

  /**
   * The oldest `limit` pending commits are among the `limit` streams with the oldest
   * `pendingSince`: each stream ranked before a commit's own contributes an older one.
   */
  async pending(limit: number, committedBefore?: string): Promise<Commit[]> {
    // MongoDB reads limit 0 as "no limit"; the port (like SQLite's LIMIT 0) means none.
    if (limit === 0) return [];
    const filter =
      committedBefore === undefined ? { pendingSince: { $exists: true } } : { pendingSince: { $lt: committedBefore } };
    const cursor = this.streams.find(filter).sort({ pendingSince: 1 });
    if (limit > 0) cursor.limit(limit);
    const pending = (await cursor.toArray()).flatMap((stream) =>
      stream.commits
        .filter((c) => !c.dispatchedAt && (committedBefore === undefined || c.committedAt < committedBefore))
        .map((c) => toCommit(stream._id, c)),
    );
    pending.sort(
      (a, b) =>
        a.committedAt.localeCompare(b.committedAt) || a.agentId.localeCompare(b.agentId) || a.version - b.version,
    );
    return limit > 0 ? pending.slice(0, limit) : pending;
  }

  /**
   * Sets the commit's `dispatchedAt` and moves `pendingSince` on, as one update that applies
   * only if no other dispatch or append changed the stream since it was read (else read again).
   */
  async markDispatched(agentId: string, version: number, at: string): Promise<void> {
    for (;;) {
      const stream = await this.streams.findOne({ _id: agentId });
      const commit = commitAt(stream, version);
      if (!stream || !commit || commit.dispatchedAt) return;
      const first = stream.commits[0]?.version ?? 1;
      const stillPending = stream.commits.filter((c) => !c.dispatchedAt && c.version !== version);
      const oldest = stillPending.map((c) => c.committedAt).sort()[0];
      const { matchedCount } = await this.streams.updateOne(
        { _id: agentId, dispatchSeq: stream.dispatchSeq },
        {
          $set: { [`commits.${version - first}.dispatchedAt`]: at, ...(oldest ? { pendingSince: oldest } : {}) },
          ...(oldest ? {} : { $unset: { pendingSince: '' } }),
          $inc: { dispatchSeq: 1 },
        },
      );
      if (matchedCount === 1) return;
    }
  }
}
