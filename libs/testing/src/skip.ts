/**
 * A suite's `skip` option for missing infrastructure: the reason when something is missing,
 * else `false`. With `CI=true` a missing piece is an error instead, so CI never passes a suite
 * that did not run.
 */
export function skipUnlessCi(reason: string | false): string | false {
  if (reason && process.env.CI === 'true') throw new Error(`CI=true and ${reason}`);
  return reason;
}
