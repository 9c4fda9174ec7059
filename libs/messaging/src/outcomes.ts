import type { Outcome } from './bus.port';

/** Error policies: small named functions handlers return (golevelup `errorBehaviors`). */
export const ack = (): Outcome => ({ action: 'ack' });
export const retryLater = (reason: string, delayMs?: number): Outcome => ({ action: 'retry', reason, delayMs });
export const deadLetter = (reason: string): Outcome => ({ action: 'dead-letter', reason });
export const replaceWith = (body: unknown, headers?: Record<string, unknown>): Outcome => ({
  action: 'replace',
  body,
  ...(headers ? { headers } : {}),
});
/**
 * Retry later without counting the delivery: what the handler needs (the store) is unavailable.
 * The message waits, however long the outage, instead of being dead-lettered by it.
 */
export const waitFor = (reason: string, delayMs = DEPENDENCY_RETRY_MS): Outcome => ({
  action: 'retry',
  reason,
  delayMs,
  counted: false,
});

/** How often a message waiting for an unavailable dependency is tried again. */
export const DEPENDENCY_RETRY_MS = 2_000;

/** Header carrying why a message was dead-lettered. */
export const DEATH_REASON_HEADER = 'x-drover-death-reason';
export const DEATH_QUEUE_HEADER = 'x-drover-death-queue';
/** When the message was dead-lettered (ISO time, the dead-lettering process's clock). */
export const DEATH_AT_HEADER = 'x-drover-death-at';
/**
 * Set on a delivery whose content is not JSON, from a queue with no dead-letter queue of its own
 * (a `.dead` queue): its body is `null` and this header says why, so its consumer (the dead-letter
 * keeper) can file it instead of the message vanishing. Queues with a dead-letter queue never
 * hand such content to their handler: it is dead-lettered with the reason.
 */
export const INVALID_CONTENT_HEADER = 'x-drover-invalid-content';

/**
 * Header of a copy a consumer republished under its own user (a retry, a dead letter, the engine's
 * sealed copy of a start) naming the original sender; believed only on a copy of that same user.
 */
export const SENDER_HEADER = 'x-drover-sender';
