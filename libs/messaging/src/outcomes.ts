import type { Outcome } from './bus.port';

/** Error policies: small named functions handlers return (golevelup `errorBehaviors`). */
export const ack = (): Outcome => ({ action: 'ack' });
export const retryLater = (reason: string, delayMs?: number): Outcome => ({ action: 'retry', reason, delayMs });
export const deadLetter = (reason: string): Outcome => ({ action: 'dead-letter', reason });

/** Header carrying why a message was dead-lettered. */
export const DEATH_REASON_HEADER = 'x-drover-death-reason';
export const DEATH_QUEUE_HEADER = 'x-drover-death-queue';
