import { z } from 'zod';
import { AgentEgress } from './egress.schema';
import { AgentId, BehaviorName, IsoDateTime, MessageId, SealedSecrets } from './ids.schema';

/** Work for any session agent with a free slot (routing key `pending`). */
export const StartSession = z
  .object({
    messageId: MessageId,
    type: z.literal('session.start'),
    agentId: AgentId,
    attempt: z.number().int().nonnegative(),
    behavior: BehaviorName,
    config: z.record(z.unknown()),
    proxy: z.string().optional(),
    /** Opened by the session agent that runs the session, in memory only. */
    secrets: SealedSecrets.optional(),
    /** The agent's own egress allow rules; the session agent checks them against its profile. */
    egress: AgentEgress.optional(),
    occurredAt: IsoDateTime,
    /** The correlation of the command behind this work; the session agent copies it into its reports. */
    correlationId: z.string().min(1).max(128).optional(),
  })
  .strict();

/** Sent to the instance hosting the agent (routing key = instance id). */
export const StopSession = z
  .object({
    messageId: MessageId,
    type: z.literal('session.stop'),
    agentId: AgentId,
    attempt: z.number().int().nonnegative(),
    reason: z.string().max(500).optional(),
    occurredAt: IsoDateTime,
    /** The correlation of the command behind this work; the session agent copies it into its reports. */
    correlationId: z.string().min(1).max(128).optional(),
  })
  .strict();

export const SessionDispatch = z.discriminatedUnion('type', [StartSession, StopSession]);
export type StartSession = z.infer<typeof StartSession>;
export type StopSession = z.infer<typeof StopSession>;
export type SessionDispatch = z.infer<typeof SessionDispatch>;
