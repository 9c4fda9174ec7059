import type { AgentCommand } from '@drover/contracts';
import type { SchedulerSnapshot } from '../infrastructure/read-side';
import { scheduledCommand } from '../infrastructure/scheduled-command';

/**
 * Rotation: while agents wait in the queue and no slot is free, the agents that have run at
 * least `sliceMs` yield theirs, longest-running first, one per waiting agent. A yielding agent
 * saves its cookies as any stopping session does and queues again behind the others.
 */
export function rotateAgents(snapshot: SchedulerSnapshot, now: Date, sliceMs: number): AgentCommand[] {
  const live = snapshot.sessionAgents.filter((s) => s.alive && Date.parse(s.expiresAt) > now.getTime());
  const free = live.reduce((sum, s) => sum + Math.max(0, s.capacity - s.agentIds.length), 0);
  const waiting = snapshot.agents.filter((a) => a.status === 'queued').length;
  const yielding = snapshot.agents.filter((a) => a.status === 'stopping' && a.requeue).length;
  const wanted = waiting - free - yielding;
  if (wanted <= 0) return [];
  const ranFor = (startedAt: string | undefined) => (startedAt ? now.getTime() - Date.parse(startedAt) : 0);
  return snapshot.agents
    .filter((a) => a.status === 'running' && ranFor(a.startedAt) >= sliceMs)
    .sort((a, b) => ranFor(b.startedAt) - ranFor(a.startedAt))
    .slice(0, wanted)
    .map((a) => scheduledCommand('agent.yield', a, { ranForMs: ranFor(a.startedAt) }, now));
}
