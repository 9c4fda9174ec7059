import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How long one attempt waits inside SQLite for another process's write lock (`busy_timeout`).
 * SQLite waits synchronously, so this is how long the event loop can stall: heartbeats, lease
 * renewals and health answers of the process all wait with it.
 */
export const ATTEMPT_BUSY_TIMEOUT_MS = 25;

/** How long a statement keeps trying before the store is reported unavailable. */
export const BUSY_PATIENCE_MS = 5_000;

const FIRST_PAUSE_MS = 10;
const MAX_PAUSE_MS = 100;

/** SQLITE_BUSY and its extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, BUSY_TIMEOUT). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs one synchronous SQLite operation, trying again after an asynchronous pause while another
 * process holds the write lock, for up to `patienceMs`. The wait happens between attempts, off
 * the event loop, instead of in one long `busy_timeout`. After that the SQLITE_BUSY error is
 * thrown: callers take it for an unavailable store (`isStoreUnavailable`) and wait, not fail.
 * An operation is one statement or one transaction, so a failed attempt changed nothing.
 */
export async function whenUnlocked<T>(operation: () => T, patienceMs = BUSY_PATIENCE_MS): Promise<T> {
  const deadline = Date.now() + patienceMs;
  for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
    try {
      return operation();
    } catch (error) {
      if (!isBusy(error) || Date.now() + pause >= deadline) throw error;
    }
    await sleep(pause);
  }
}
