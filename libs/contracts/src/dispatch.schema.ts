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
    /** The agent is paused: the session takes its slot and browser context but runs no behaviour yet. */
    paused: z.boolean().optional(),
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

const sessionControl = <T extends string>(type: T) =>
  z
    .object({
      messageId: MessageId,
      type: z.literal(type),
      agentId: AgentId,
      attempt: z.number().int().nonnegative(),
      occurredAt: IsoDateTime,
      /** The correlation of the command that asked for it (see `StartSession.correlationId`). */
      correlationId: z.string().min(1).max(128).optional(),
    })
    .strict();
/** Sent to the instance hosting the agent: abort the behaviour, keep the slot, context and cookies. */
export const PauseSession = sessionControl('session.pause');
/** Sent to the instance hosting the agent: run the behaviour again in the paused session. */
export const ResumeSession = sessionControl('session.resume');

export const SessionDispatch = z.discriminatedUnion('type', [StartSession, StopSession, PauseSession, ResumeSession]);
export type PauseSession = z.infer<typeof PauseSession>;
export type ResumeSession = z.infer<typeof ResumeSession>;
export type StartSession = z.infer<typeof StartSession>;
export type StopSession = z.infer<typeof StopSession>;
export type SessionDispatch = z.infer<typeof SessionDispatch>;
