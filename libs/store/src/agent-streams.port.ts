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

export type AppendResult =
  | { status: 'appended'; commit: Commit }
  /** Another writer appended this version first: reload and decide again. */
  | { status: 'conflict' }
  /** The command was committed before: answer with the earlier result. */
  | { status: 'duplicate'; commit: Commit };

export interface AgentStreams {
  /** Commits of one agent in version order, optionally from a version on (inclusive). */
  load(agentId: string, fromVersion?: number): Promise<Commit[]>;
  /** Appends iff the stream is at `commit.version - 1` and `commit.commandId` is new. */
  append(commit: NewCommit): Promise<AppendResult>;
  findByCommandId(commandId: string): Promise<Commit | undefined>;
}
