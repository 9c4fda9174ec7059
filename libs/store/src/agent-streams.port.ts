import type { AgentEvent } from '@drover/contracts';

/** A message to relay to the bus once its commit is durable. */
export interface OutboxMessage {
  exchange: string;
  routingKey: string;
  messageId: string;
  body: Record<string, unknown>;
}

/** One atomic append to an agent's stream: the events of one command and what they cause. */
export interface Commit {
  agentId: string;
  /** 1-based, contiguous per agent. */
  version: number;
  /** The command's messageId; unique across all streams. */
  commandId: string;
  /**
   * The type of the message that made the commit (`agent.start`, `session.started`...), so that
   * a later message reusing the id for another type is told from a copy. Absent on commits made
   * before it was recorded.
   */
  commandType?: string;
  events: AgentEvent[];
  outbox: OutboxMessage[];
  committedAt: string;
  dispatchedAt?: string;
}

export type NewCommit = Omit<Commit, 'dispatchedAt'>;

/**
 * The lease an append is made under: its key and fencing token. The store refuses the append
 * once the lease was taken over (a newer token was issued for the key, or a newer token was
 * used to append to the stream): a writer that stalled past its lease cannot commit.
 */
export interface Fence {
  key: string;
  token: number;
}

/** Where a command was committed: enough to know it is a duplicate, after its commit was pruned too. */
export interface CommitRef {
  agentId: string;
  version: number;
  commandId: string;
  /** See `Commit.commandType`. */
  commandType?: string;
}

/**
 * An agent's state folded up to `version`, stored with the stream so that loading it reads the
 * snapshot and the commits after it, not every commit ever made. Opaque to the store.
 */
export interface Snapshot {
  version: number;
  state: Record<string, unknown>;
  takenAt: string;
}

/** What a writer loads: the latest snapshot, if any, and every commit after it in version order. */
export interface StreamHead {
  snapshot?: Snapshot;
  commits: Commit[];
}

export type AppendResult =
  | { status: 'appended'; commit: Commit }
  /** The fence's lease was taken over: stop working on this agent. Nothing was written. */
  | { status: 'fenced' }
  /** Another writer appended this version first: reload and decide again. */
  | { status: 'conflict' }
  /** The command was committed before: answer with the earlier result. */
  | { status: 'duplicate'; commit: CommitRef };

export interface AgentStreams {
  /**
   * The commits of one agent the store still keeps, in version order, optionally from a version
   * on (inclusive). Commits folded into a snapshot may be gone: a writer uses `loadHead`.
   */
  load(agentId: string, fromVersion?: number): Promise<Commit[]>;
  /** The latest snapshot and the commits after it: what folding the agent's state needs. */
  loadHead(agentId: string): Promise<StreamHead>;
  /**
   * Appends iff the stream is at `commit.version - 1`, `commit.commandId` is new and `fence`
   * is still the current lease. Checked in that order of precedence: duplicate, fenced,
   * conflict.
   *
   * With `snapshot` (the state at `commit.version - 1`, every commit up to which the caller
   * has relayed), the snapshot is stored with the commit, and the store may drop the commits
   * it covers; their command ids stay known as duplicates.
   */
  append(commit: NewCommit, fence: Fence, snapshot?: Snapshot): Promise<AppendResult>;
  findByCommandId(commandId: string): Promise<CommitRef | undefined>;
}
