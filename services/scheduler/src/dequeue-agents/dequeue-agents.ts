import type { AgentCommand } from '@drover/contracts';
import type { SchedulerSnapshot } from '../infrastructure/read-side';
import { scheduledCommand } from '../infrastructure/scheduled-command';

/** Free slots on the live session agents (alive, lease not past): capacity less what they host. */
export function freeSlots(snapshot: Pick<SchedulerSnapshot, 'sessionAgents'>, now: Date): number {
  const live = snapshot.sessionAgents.filter((s) => s.alive && Date.parse(s.expiresAt) > now.getTime());
  return live.reduce((sum, s) => sum + Math.max(0, s.capacity - s.agentIds.length), 0);
}

/**
 * Queued agents, oldest first, as many as the fleet has free slots. Agents already
 * `starting` count against the free slots, so a tick does not over-dispatch. `starting` is their
 * number when the snapshot does not hold them (the scheduler counts them instead of reading them).
 */
export function dequeueAgents(snapshot: SchedulerSnapshot, now: Date, starting?: number): AgentCommand[] {
  const free = freeSlots(snapshot, now);
  const startingNow = starting ?? snapshot.agents.filter((a) => a.status === 'starting').length;
  const slots = Math.max(0, free - startingNow);
  return snapshot.agents
    .filter((a) => a.status === 'queued')
    .sort((a, b) => (a.queuedAt ?? '').localeCompare(b.queuedAt ?? ''))
    .slice(0, slots)
    .map((a) => scheduledCommand('agent.dequeue', a, {}, now));
}
