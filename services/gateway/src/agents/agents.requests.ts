import { z } from 'zod';
import { AgentId, AgentStatus, BehaviorName, LabelSelectors, StartAgentPayload } from '@drover/contracts';

/** `POST /api/agents` body: the `agent.start` payload plus the agent's id, so REST accepts what the bus accepts. */
export const StartAgentRequest = StartAgentPayload.extend({ agentId: AgentId }).strict();
export type StartAgentRequest = z.infer<typeof StartAgentRequest>;

export const StopAgentQuery = z.object({ reason: z.string().max(500).optional() });

export const ListAgentsQuery = z.object({
  status: AgentStatus.optional(),
  behavior: BehaviorName.optional(),
  /** `key=value`, repeatable: agents carrying every one of these labels. */
  label: LabelSelectors.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(200).optional(),
});

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(200).optional(),
});

export const AgentIdParam = z.object({ agentId: AgentId });
