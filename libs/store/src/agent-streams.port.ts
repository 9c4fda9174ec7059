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

export type AppendResult =
  | { status: 'appended'; commit: Commit }
  /** The fence's lease was taken over: stop working on this agent. Nothing was written. */
  | { status: 'fenced' }
  /** Another writer appended this version first: reload and decide again. */
  | { status: 'conflict' }
  /** The command was committed before: answer with the earlier result. */
  | { status: 'duplicate'; commit: Commit };

export interface AgentStreams {
  /** Commits of one agent in version order, optionally from a version on (inclusive). */
  load(agentId: string, fromVersion?: number): Promise<Commit[]>;
  /**
   * Appends iff the stream is at `commit.version - 1`, `commit.commandId` is new and `fence`
   * is still the current lease. Checked in that order of precedence: duplicate, fenced,
   * conflict.
   */
  append(commit: NewCommit, fence: Fence): Promise<AppendResult>;
  findByCommandId(commandId: string): Promise<Commit | undefined>;
}
