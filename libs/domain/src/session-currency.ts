import type { AgentView } from '@drover/contracts';

/** Who a report, activity or write says it comes from: the session `attempt` on `instanceId`. */
export interface SessionClaim {
  attempt: number;
  instanceId: string;
}

/**
 * Why the read side must drop what a session sends, or undefined when the session may still be
 * the agent's current one. The view may lag behind the stream, so only what proves the session
 * stale counts:
 * - an attempt older than the view's: the agent was restarted since (the scheduler expired the
 *   session's host, or the session failed);
 * - the agent placed on another instance: the engine took another host's `session.started` for
 *   the current attempt. This also holds for a higher attempt, because attempts start again at 1
 *   with every user start, so an older run's stale session can claim a higher attempt; a view
 *   lagging behind a restart would need to have missed the interrupt, restart and start events,
 *   which each clear or move the placement.
 * Otherwise a newer attempt than the view's is accepted: the view has not caught up yet.
 */
export function staleSessionReason(
  view: Pick<AgentView, 'agentId' | 'attempts' | 'instanceId'> | undefined,
  claim: SessionClaim,
): string | undefined {
  if (!view) return undefined;
  if (claim.attempt < view.attempts) {
    return `attempt ${claim.attempt} of ${view.agentId} is stale: the agent is at attempt ${view.attempts}`;
  }
  if (view.instanceId !== undefined && view.instanceId !== claim.instanceId) {
    return `attempt ${claim.attempt} of ${view.agentId} runs on ${view.instanceId}, not on ${claim.instanceId}`;
  }
  return undefined;
}
