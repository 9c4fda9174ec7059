import type { AgentCommand } from '@drover/contracts';
import type { SchedulerSnapshot } from '../infrastructure/read-side';
import { scheduledCommand } from '../infrastructure/scheduled-command';

/** Agents `starting` for longer than the limit: retried or failed by the recovery policy. */
export function timeOutStarts(snapshot: SchedulerSnapshot, now: Date, startTimeoutMs: number): AgentCommand[] {
  return snapshot.agents
    .filter((a) => a.status === 'starting' && a.updatedAt && now.getTime() - Date.parse(a.updatedAt) > startTimeoutMs)
    .map((a) => scheduledCommand('agent.start-timeout', a, { afterMs: startTimeoutMs }, now));
}
