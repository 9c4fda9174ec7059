import { describe } from '@jest/globals';

/**
 * The reason a suite cannot run when something is missing, else `false`. With `CI=true` a
 * missing piece is an error instead, so CI never passes a suite that did not run.
 */
export function skipUnlessCi(reason: string | false): string | false {
  if (reason && process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/**
 * `describe`, or with a reason a skipped suite whose title says why (jest prints it with the
 * skipped tests). Pass the reason through `skipUnlessCi` so that CI fails instead.
 */
export function describeUnless(reason: string | false, name: string, body: () => void): void {
  if (reason) describe.skip(`${name} [skipped: ${reason}]`, body);
  else describe(name, body);
}
