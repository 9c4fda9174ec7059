import { z } from 'zod';
import { AgentId, BehaviorName, IsoDateTime, MessageId, ProxyUrl } from './ids.schema';

const commandEnvelope = <T extends string, P extends z.ZodTypeAny>(type: T, payload: P) =>
  z
    .object({
      messageId: MessageId,
      type: z.literal(type),
      agentId: AgentId,
      payload,
      occurredAt: IsoDateTime.optional(),
      correlationId: z.string().min(1).max(128).optional(),
    })
    .strict();

export const StartAgentPayload = z
  .object({
    behavior: BehaviorName,
    config: z.record(z.unknown()).optional(),
    proxy: ProxyUrl.optional(),
  })
  .strict();

/** Published by users (REST or straight to `drover.commands`). */
export const StartAgent = commandEnvelope('agent.start', StartAgentPayload);
export const StopAgent = commandEnvelope('agent.stop', z.object({ reason: z.string().max(500).optional() }).strict());

/** Published by the scheduler: the session agent hosting the agent is gone. */
export const InterruptAgent = commandEnvelope(
  'agent.interrupt',
  z.object({ reason: z.string().max(500), instanceId: z.string().optional() }).strict(),
);
/** Published by the scheduler when an interrupted agent's back-off has elapsed. */
export const RecoverAgent = commandEnvelope('agent.recover', z.object({}).strict());
/** Published by the scheduler when a slot frees up for a queued agent. */
export const DequeueAgent = commandEnvelope('agent.dequeue', z.object({}).strict());
/** Published by the scheduler when a session never reported ready. */
export const TimeOutAgentStart = commandEnvelope(
  'agent.start-timeout',
  z.object({ afterMs: z.number().int().nonnegative() }).strict(),
);

export const AgentCommand = z.discriminatedUnion('type', [
  StartAgent,
  StopAgent,
  InterruptAgent,
  RecoverAgent,
  DequeueAgent,
  TimeOutAgentStart,
]);
export type AgentCommand = z.infer<typeof AgentCommand>;
export type StartAgent = z.infer<typeof StartAgent>;
export type StopAgent = z.infer<typeof StopAgent>;
export type AgentCommandType = AgentCommand['type'];
export const AGENT_COMMAND_TYPES = AgentCommand.options.map((o) => o.shape.type.value);
