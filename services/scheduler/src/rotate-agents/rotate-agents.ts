import type { AgentCommand } from '@drover/contracts';
import type { SchedulerSnapshot } from '../infrastructure/read-side';
import { freeSlots } from '../dequeue-agents/dequeue-agents';
import { scheduledCommand } from '../infrastructure/scheduled-command';

/**
 * Rotation: while agents wait in the queue and no slot is free, the agents that have run at
 * least `sliceMs` yield theirs, longest-running first, one per waiting agent. A yielding agent
 * saves its cookies as any stopping session does and queues again behind the others. `counts`
 * gives the waiting and yielding agents' numbers when the snapshot does not hold them.
 */
export function rotateAgents(
  snapshot: SchedulerSnapshot,
  now: Date,
  sliceMs: number,
  counts?: { waiting: number; yielding: number },
): AgentCommand[] {
  const free = freeSlots(snapshot, now);
  const waiting = counts?.waiting ?? snapshot.agents.filter((a) => a.status === 'queued').length;
  const yielding = counts?.yielding ?? snapshot.agents.filter((a) => a.status === 'stopping' && a.requeue).length;
  const wanted = waiting - free - yielding;
  if (wanted <= 0) return [];
  const ranFor = (startedAt: string | undefined) => (startedAt ? now.getTime() - Date.parse(startedAt) : 0);
  return snapshot.agents
    .filter((a) => a.status === 'running' && ranFor(a.startedAt) >= sliceMs)
    .sort((a, b) => ranFor(b.startedAt) - ranFor(a.startedAt))
    .slice(0, wanted)
    .map((a) => scheduledCommand('agent.yield', a, { ranForMs: ranFor(a.startedAt) }, now));
}
