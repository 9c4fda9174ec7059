import { Cron } from 'croner';
import { SCHEDULED_STOP_REASON, type AgentCommand, type AgentSchedule, type AgentView } from '@drover/contracts';
import type { SchedulerSnapshot } from '../infrastructure/read-side';

const SLEEPING = new Set<string>(['stopped', 'failed']);
const AWAKE = new Set<string>(['queued', 'starting', 'running', 'paused', 'interrupted']);

/**
 * Agent schedules (see `AgentSchedule`): for a `start` occurrence in (lastTickAt, now] a stopped
 * or failed agent gets `agent.wake`; for a `stop` occurrence an awake agent gets `agent.stop`
 * with the scheduled-stop reason. Ids derive from the occurrence, so another tick or leader
 * that sees the same occurrence publishes the same id and the engine commits it once.
 */
export function runSchedules(snapshot: SchedulerSnapshot, now: Date, lastTickAt: Date): AgentCommand[] {
  const commands: AgentCommand[] = [];
  // Agents mostly share a few schedules: each pattern is evaluated once per tick.
  const occurrences = new Map<string, Date | undefined>();
  const due = (schedule: AgentSchedule, field: 'start' | 'stop') => {
    const key = JSON.stringify([field, schedule[field], schedule.timezone]);
    if (!occurrences.has(key)) occurrences.set(key, dueOccurrence(schedule, field, now, lastTickAt));
    return occurrences.get(key);
  };
  for (const agent of snapshot.agents) {
    const { schedule } = agent;
    if (!schedule) continue;
    const woken = SLEEPING.has(agent.status) && due(schedule, 'start');
    if (woken) commands.push(wakeCommand(agent, woken, now));
    const stopped = AWAKE.has(agent.status) && due(schedule, 'stop');
    if (stopped) commands.push(scheduledStopCommand(agent, stopped, now));
  }
  return commands;
}

/** The latest occurrence of `schedule[field]` that is <= now, if it is > lastTickAt. */
export function dueOccurrence(
  schedule: AgentSchedule,
  field: 'start' | 'stop',
  now: Date,
  lastTickAt: Date,
): Date | undefined {
  const pattern = schedule[field];
  if (!pattern) return undefined;
  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, ...(schedule.timezone ? { timezone: schedule.timezone } : {}) });
  } catch {
    return undefined; // validated at parse time; a stored bad pattern is ignored, not fatal
  }
  // previousRuns excludes the reference itself, so look back from just after now.
  const [latest] = cron.previousRuns(1, new Date(now.getTime() + 1));
  return latest && latest.getTime() > lastTickAt.getTime() && latest.getTime() <= now.getTime() ? latest : undefined;
}

function wakeCommand(agent: AgentView, occurrence: Date, now: Date): AgentCommand {
  return {
    messageId: `scheduler:wake:${agent.agentId}:${occurrence.toISOString()}`,
    type: 'agent.wake',
    agentId: agent.agentId,
    payload: { occurrence: occurrence.toISOString() },
    occurredAt: now.toISOString(),
  };
}

function scheduledStopCommand(agent: AgentView, occurrence: Date, now: Date): AgentCommand {
  return {
    messageId: `scheduler:scheduled-stop:${agent.agentId}:${occurrence.toISOString()}`,
    type: 'agent.stop',
    agentId: agent.agentId,
    payload: { reason: SCHEDULED_STOP_REASON },
    occurredAt: now.toISOString(),
  };
}
