import type { Activity } from '@drover/contracts';
import { EgressPolicy, silentLogger } from '@drover/runtime';
import { abortableSleep } from '../abortable-sleep';
import type { BehaviorCapabilities, BehaviorContext } from '../behavior.port';

/** The policy of a dev-like profile (`egress.allow: ["loopback"]`): fixtures on 127.0.0.1 are reachable. */
export const LOOPBACK_ALLOWED = EgressPolicy.fromRules(['loopback']);

export interface TestRun<C> {
  context: BehaviorContext<C>;
  controller: AbortController;
  /** Every reported activity, in order. */
  activities: Activity[];
}

/**
 * A BehaviorContext for tests. `onReport` sees each activity once recorded (with its index) and
 * may stop the run through `controller.abort()`.
 */
export function testRun<C>(
  config: C,
  capabilities: BehaviorCapabilities,
  onReport?: (activity: Activity, index: number, controller: AbortController) => void | Promise<void>,
): TestRun<C> {
  const controller = new AbortController();
  const activities: Activity[] = [];
  const context: BehaviorContext<C> = {
    agentId: 'agent-test',
    config,
    // Test fixtures listen on 127.0.0.1.
    egress: LOOPBACK_ALLOWED,
    signal: controller.signal,
    logger: silentLogger(),
    capabilities,
    sleep: (ms) => abortableSleep(ms, controller.signal),
    report: async (activity) => {
      activities.push(activity);
      await onReport?.(activity, activities.length - 1, controller);
    },
  };
  return { context, controller, activities };
}

/** Runs `work`, returning how long it took in ms. */
export async function timed(work: Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work;
  return performance.now() - started;
}
