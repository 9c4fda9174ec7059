import { describe, it } from '@jest/globals';

/**
 * The reason a suite cannot run when something is missing, else `false`. With `CI=true` a
 * missing piece is an error instead, so CI never passes a suite that did not run.
 */
export function skipUnlessCi(reason: string | false): string | false {
  if (reason && process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/**
 * Registers the one test of a suite whose infrastructure is missing: skipped, its title giving
 * the reason, or failing with `CI=true`, so CI never passes a suite that did not run.
 */
export function reportMissing(reason: string): void {
  if (process.env.CI === 'true') {
    it(reason, () => {
      throw new Error(`CI=true and ${reason}`);
    });
  } else {
    it.skip(reason, () => undefined);
  }
}

/**
 * `describe`, or with a reason a suite of one missing-infrastructure test (`reportMissing`);
 * `body` is then not even registered, so it may rely on what is missing.
 */
export function describeUnless(reason: string | false, name: string, body: () => void): void {
  describe(name, reason ? () => reportMissing(reason) : body);
}
