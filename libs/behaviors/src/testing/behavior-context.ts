import type { Activity } from '@drover/contracts';
import { silentLogger } from '@drover/runtime';
import { abortableSleep } from '../abortable-sleep';
import type { BehaviorCapabilities, BehaviorContext } from '../behavior.port';

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
