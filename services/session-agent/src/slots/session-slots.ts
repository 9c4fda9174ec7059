import type { DroverMetrics } from '@drover/platform';
import type { LentBrowser } from '../browser/browser-lender';

/**
 * Why a session's signal fired: a stop is reported; a shutdown or a replacement hands the agent off
 * silently; a fence (the host's heartbeat lease lapsed) ends it silently too, without saving cookies,
 * because the agent may already run elsewhere.
 */
export type EndCause =
  { kind: 'stop'; reason?: string } | { kind: 'shutdown' } | { kind: 'replaced' } | { kind: 'fenced' };

/** One hosted behaviour run. */
export interface Session {
  agentId: string;
  attempt: number;
  /** When the engine committed the start this session runs (the dispatch's `occurredAt`). */
  dispatchedAt: string;
  /** The dispatch's correlation: every report and activity of the session carries it. */
  correlationId?: string;
  controller: AbortController;
  lent?: LentBrowser;
  cause?: EndCause;
  /** The behaviour's current run (and, once the session ends, its end): settles when it has returned. */
  done: Promise<void>;
  /** A behaviour run is under way (its promise has not settled). */
  running?: boolean;
  /** Paused by the engine: no behaviour runs; the slot, browser context and cookies stay. */
  paused?: boolean;
  /** Aborts the current run only (a pause), not the session. */
  pauser?: AbortController;
  /** Starts a behaviour run in this session (set once the session reported started). */
  run?: () => void;
  /** The session is ending: its slot is being freed and its end reported. */
  finishing?: boolean;
  /** Pauses and resumes of this session, one after the other. */
  control?: Promise<void>;
}

/** The host's capacity: one slot per running session, at most `capacity`, published as a gauge. */
export class SessionSlots {
  private readonly sessions = new Map<string, Session>();

  constructor(
    readonly capacity: number,
    private readonly instanceId: string,
    private readonly metrics?: DroverMetrics,
  ) {}

  /** The agent's session on this host, if it holds a slot. */
  get(agentId: string): Session | undefined {
    return this.sessions.get(agentId);
  }

  /** Agents holding a slot right now. */
  agentIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** Every session holding a slot. */
  all(): Session[] {
    return [...this.sessions.values()];
  }

  /** No slot left: a new start is deferred. */
  isFull(): boolean {
    return this.sessions.size >= this.capacity;
  }

  /** Gives the session a slot (replacing any earlier session of the agent). */
  take(session: Session): void {
    this.sessions.set(session.agentId, session);
    this.publish();
  }

  /** Frees the session's slot unless a newer session of the agent already holds it. */
  free(session: Session): void {
    if (this.sessions.get(session.agentId) === session) this.sessions.delete(session.agentId);
    this.publish();
  }

  /** Frees every slot (after a shutdown ended the sessions). */
  clear(): void {
    this.sessions.clear();
    this.publish();
  }

  /** Sets the active-sessions gauge (also on every heartbeat, so a scrape never sees a stale one for long). */
  publish(): void {
    this.metrics?.sessionsActive.set({ instance: this.instanceId }, this.sessions.size);
  }
}

/** Aborts the session's behaviour; the first cause wins. */
export function endSession(session: Session, cause: EndCause): void {
  session.cause ??= cause;
  session.controller.abort();
}
