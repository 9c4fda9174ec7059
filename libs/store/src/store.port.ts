import type { AgentStreams } from './agent-streams.port';
import type { Documents } from './documents.port';
import type { Locks } from './locks.port';
import type { Outbox } from './outbox.port';

/** One adapter instance provides every port over one connection. */
export interface Store {
  readonly kind: 'sqlite' | 'mongodb';
  readonly streams: AgentStreams;
  readonly outbox: Outbox;
  readonly locks: Locks;
  readonly documents: Documents;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** DI token of the process's store (Nest-built consumers inject it). */
export const STORE = Symbol('Store');
