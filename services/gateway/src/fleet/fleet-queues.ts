import type { Topology } from '@drover/messaging';

/**
 * The queues whose depth the fleet summary shows: every queue of the topology (engine commands
 * and reports, pending sessions, the persistence agent's) and every dead-letter queue. Session
 * agents' own queues come and go, so they are left out.
 */
export function fleetQueues(topology: Topology): string[] {
  const names: string[] = [];
  for (const queue of topology.queues) names.push(queue.name);
  for (const queue of topology.queues) {
    if (queue.sharedDeadLetter || queue.deadLetterQueue === false) continue;
    names.push(queue.deadLetterQueue ?? `${queue.name}.dead`);
  }
  for (const shared of topology.sharedDeadLetterQueues ?? []) names.push(shared.name);
  return [...new Set(names)];
}
