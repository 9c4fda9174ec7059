/** What happens to an agent whose session was lost (from the run-profile). */
export interface RecoveryPolicy {
  /** `restart`: start again after a back-off; `stop`: mark it failed. */
  onInterrupt: 'restart' | 'stop';
  /** Total start attempts of one run, the first included. */
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RECOVERY_POLICY: RecoveryPolicy = {
  onInterrupt: 'restart',
  maxAttempts: 3,
  backoffInitialMs: 1_000,
  backoffMaxMs: 30_000,
};

/** Exponential back-off before restart attempt `attempt + 1`. */
export function backoffMs(policy: RecoveryPolicy, attempt: number): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(policy.backoffMaxMs, policy.backoffInitialMs * 2 ** exponent);
}
