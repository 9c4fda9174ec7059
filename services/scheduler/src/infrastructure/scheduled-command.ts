import type { AgentCommand } from '@drover/contracts';
import type { AgentView } from '@drover/contracts';

/**
 * A command the scheduler publishes. Its id derives from the agent's version, so every
 * scheduler tick (or a new leader) sends the same id for the same situation and the engine
 * commits it at most once.
 */
export function scheduledCommand<T extends AgentCommand['type']>(
  type: T,
  agent: AgentView,
  payload: Extract<AgentCommand, { type: T }>['payload'],
  at: Date,
): AgentCommand {
  return {
    messageId: `scheduler:${type}:${agent.agentId}:${agent.version}`,
    type,
    agentId: agent.agentId,
    payload,
    occurredAt: at.toISOString(),
  } as AgentCommand;
}
