import { AGENT_STATUSES, Collections } from '@drover/contracts';
import { DROVER_TOPOLOGY, type Bus } from '@drover/messaging';
import type { DroverMetrics } from '@drover/platform';
import type { Store } from '@drover/store';

/**
 * Fleet-wide gauges only the leader can see: agents by status (from the read side) and the
 * depth of every queue and dead-letter queue, for dashboards and backlog/dead-letter alerts.
 */
export async function observeFleet(bus: Bus, store: Store, metrics: DroverMetrics): Promise<void> {
  const agents = store.documents.collection(Collections.agents);
  for (const status of AGENT_STATUSES) {
    metrics.agents.set({ status }, await agents.count({ field: 'status', op: 'eq', value: status }));
  }
  const names = [
    ...DROVER_TOPOLOGY.queues.flatMap((queue) => [queue.name, `${queue.name}.dead`]),
    ...(DROVER_TOPOLOGY.sharedDeadLetterQueues ?? []).map((queue) => queue.name),
  ];
  for (const name of names) {
    const stats = await bus.queueStats(name).catch(() => undefined);
    if (stats) metrics.queueMessages.set({ queue: name }, stats.messages);
  }
}
