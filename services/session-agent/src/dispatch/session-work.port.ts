import type { PauseSession, ResumeSession, StartSession, StopSession } from '@drover/contracts';

/** What the dispatch consumer hands validated work to (the session host). */
export interface SessionWork {
  /** Starts the session, or reports why not (deferred, failed). */
  startSession(work: StartSession): Promise<void>;
  /** Stops the session and waits until it has ended. */
  stopSession(stop: StopSession): Promise<void>;
  /** Aborts the behaviour but keeps the session (slot, browser context, cookies). */
  pauseSession(pause: PauseSession): Promise<void>;
  /** Runs the behaviour again in the paused session. */
  resumeSession(resume: ResumeSession): Promise<void>;
}

/** DI token of the `SessionWork` the dispatch consumer serves. */
export const SESSION_WORK = Symbol('SessionWork');
