import type { AgentCommand } from '@drover/contracts';
import type { SchedulerSnapshot } from '../infrastructure/read-side';
import { scheduledCommand } from '../infrastructure/scheduled-command';

/** Interrupted agents whose back-off has elapsed get restarted (the engine re-checks it). */
export function recoverAgents(snapshot: SchedulerSnapshot, now: Date): AgentCommand[] {
  return snapshot.agents
    .filter((a) => a.status === 'interrupted' && a.retryAt && Date.parse(a.retryAt) <= now.getTime())
    .map((a) => scheduledCommand('agent.recover', a, {}, now));
}
