import { z } from 'zod';
import { AgentId, AgentStatus, BehaviorName, ProxyUrl } from '@drover/contracts';

/** `POST /api/agents` body. */
export const StartAgentRequest = z
  .object({
    agentId: AgentId,
    behavior: BehaviorName,
    config: z.record(z.unknown()).optional(),
    proxy: ProxyUrl.optional(),
  })
  .strict();
export type StartAgentRequest = z.infer<typeof StartAgentRequest>;

export const StopAgentQuery = z.object({ reason: z.string().max(500).optional() });

export const ListAgentsQuery = z.object({
  status: AgentStatus.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(200).optional(),
});

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(200).optional(),
});

export const AgentIdParam = z.object({ agentId: AgentId });
