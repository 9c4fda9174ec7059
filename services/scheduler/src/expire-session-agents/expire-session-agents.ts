import type { AgentCommand, SessionAgentRecord } from '@drover/contracts';
import { PLACED, type SchedulerSnapshot } from '../infrastructure/read-side';
import { scheduledCommand } from '../infrastructure/scheduled-command';
import type { HeartbeatWatch } from './heartbeat-watch';

/** A heartbeat may trail the `session.started` it covers by this much. */
const MISSING_SESSION_GRACE_MS = 5_000;

/**
 * Agents whose session is gone: their session agent's lease plus the margin passed on this
 * scheduler's clock (`watch`) without a heartbeat, or it said goodbye, or it is alive but no
 * longer lists them well after they started (it restarted, or fenced itself and rejoined).
 */
export function expireSessionAgents(snapshot: SchedulerSnapshot, now: Date, watch: HeartbeatWatch): AgentCommand[] {
  const byId = new Map(snapshot.sessionAgents.map((s) => [s._id, s]));
  const commands: AgentCommand[] = [];
  for (const agent of snapshot.agents) {
    if (!agent.instanceId || !PLACED.includes(agent.status)) continue;
    const host = byId.get(agent.instanceId);
    const reason = lostReason(host, agent.agentId, agent.startedAt, watch);
    if (reason) {
      commands.push(scheduledCommand('agent.interrupt', agent, { reason, instanceId: agent.instanceId }, now));
    }
  }
  return commands;
}

function lostReason(
  host: SessionAgentRecord | undefined,
  agentId: string,
  startedAt: string | undefined,
  watch: HeartbeatWatch,
): string | undefined {
  if (!host) return undefined; // no heartbeat recorded yet: wait for one
  if (!host.alive) return `session agent ${host._id} shut down`;
  if (watch.lapsed(host)) {
    const silent = Math.round(watch.silentForMs(host));
    return `session agent ${host._id} missed its heartbeat lease (no heartbeat for ${silent} ms; lease ${host.leaseMs} ms + margin ${watch.marginMs(host)} ms)`;
  }
  const started = startedAt ? Date.parse(startedAt) : 0;
  if (!host.agentIds.includes(agentId) && Date.parse(host.lastSeenAt) > started + MISSING_SESSION_GRACE_MS) {
    return `session agent ${host._id} no longer hosts the session`;
  }
  return undefined;
}
