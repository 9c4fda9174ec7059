import type { AgentCommand } from '@drover/contracts';
import type { SchedulerSnapshot } from '../infrastructure/read-side';
import { scheduledCommand } from '../infrastructure/scheduled-command';

/**
 * Queued agents, oldest first, as many as the fleet has free slots. Agents already
 * `starting` count against the free slots, so a tick does not over-dispatch.
 */
export function dequeueAgents(snapshot: SchedulerSnapshot, now: Date): AgentCommand[] {
  const live = snapshot.sessionAgents.filter((s) => s.alive && Date.parse(s.expiresAt) > now.getTime());
  const free = live.reduce((sum, s) => sum + Math.max(0, s.capacity - s.agentIds.length), 0);
  const starting = snapshot.agents.filter((a) => a.status === 'starting').length;
  const slots = Math.max(0, free - starting);
  return snapshot.agents
    .filter((a) => a.status === 'queued')
    .sort((a, b) => (a.queuedAt ?? '').localeCompare(b.queuedAt ?? ''))
    .slice(0, slots)
    .map((a) => scheduledCommand('agent.dequeue', a, {}, now));
}
