import { Cron } from 'croner';
import { z } from 'zod';
import { AgentEgress } from './egress.schema';
import { AgentId, AgentLabels, BehaviorName, IsoDateTime, MessageId, ProxyUrl, SealedSecrets } from './ids.schema';
import { boundedObject, Limits } from './limits';

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

/** Why croner refuses a pattern, or undefined for a valid recurring cron expression. */
function cronError(pattern: string, timezone?: string): string | undefined {
  try {
    const cron = new Cron(pattern, { paused: true, ...(timezone ? { timezone } : {}) });
    // croner also takes one-off ISO dates; a schedule recurs, so only patterns are allowed.
    return cron.getPattern() === undefined ? 'a date is not a recurring cron expression' : undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone });
    return true;
  } catch {
    return false;
  }
}

const CronExpression = z.string().min(1).max(200);

/**
 * When the scheduler wakes and puts to sleep an agent (cron expressions, 5 or 6 fields, evaluated
 * in `timezone`, default UTC):
 *
 * - at every `start` occurrence, a `stopped` or `failed` agent is started again (`agent.wake`),
 *   with the behaviour, config and proxy of its last start and attempt 1. Agents in any other
 *   status are left alone, and so is an agent stopped after that occurrence.
 * - at every `stop` occurrence, a `queued`, `starting`, `running` or `interrupted` agent is
 *   stopped (`agent.stop` with reason `scheduled stop`).
 *
 * The schedule belongs to the agent's run record: it survives stops (scheduled or not) and
 * failures, so an agent an operator stopped still wakes at the next `start` occurrence. Only a
 * new `agent.start` replaces it, or removes it when that start carries no schedule.
 */
export const AgentSchedule = z
  .object({
    start: CronExpression.optional(),
    stop: CronExpression.optional(),
    timezone: z.string().min(1).max(64).optional(),
  })
  .strict()
  .superRefine((schedule, ctx) => {
    if (schedule.start === undefined && schedule.stop === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'a schedule needs a start or a stop cron expression' });
    }
    if (schedule.timezone !== undefined && !isTimeZone(schedule.timezone)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['timezone'],
        message: `schedule.timezone: unknown IANA time zone "${schedule.timezone}"`,
      });
      return;
    }
    for (const field of ['start', 'stop'] as const) {
      const pattern = schedule[field];
      const error = pattern === undefined ? undefined : cronError(pattern, schedule.timezone);
      if (error) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [field],
          message: `schedule.${field}: invalid cron expression "${pattern}" (${error})`,
        });
      }
    }
  });
export type AgentSchedule = z.infer<typeof AgentSchedule>;

export const StartAgentPayload = z
  .object({
    behavior: BehaviorName,
    /** At most `Limits.configBytes` as JSON and `Limits.jsonDepth` levels. */
    config: boundedObject(Limits.configBytes).optional(),
    proxy: ProxyUrl.optional(),
    /** Optional cron schedule; see `AgentSchedule`. */
    schedule: AgentSchedule.optional(),
    /**
     * Set by Drover where the command enters (gateway, engine): the proxy's credentials and the
     * config's secret fields, sealed; `proxy` and `config` then hold `***` in their place.
     */
    secrets: SealedSecrets.optional(),
    /** Allow rules of the agent's own, within the run-profile's `egress.agentsMayAllow`; see `AgentEgress`. */
    egress: AgentEgress.optional(),
    /** The agent's labels (see `AgentLabels`); kept by restarts and wakes, replaced by `agent.label`. */
    labels: AgentLabels.optional(),
  })
  .strict();

/** Published by users (REST or straight to `drover.commands`). */
export const StartAgent = commandEnvelope('agent.start', StartAgentPayload);
export const StopAgent = commandEnvelope('agent.stop', z.object({ reason: z.string().max(500).optional() }).strict());

/**
 * Published by users: starts the agent again with the behaviour, config, proxy, schedule, egress,
 * labels and sealed secrets of its last start (nothing is sent again). A stopped or failed agent
 * starts at once; a running one is stopped first, then started; a queued or interrupted one is
 * stopped and requested again.
 */
export const RestartAgent = commandEnvelope(
  'agent.restart',
  z.object({ reason: z.string().max(500).optional() }).strict(),
);
/**
 * Published by users: the agent's behaviour stops acting, but its session keeps its slot, browser
 * context and cookies (status `paused`). A starting agent is paused once it runs.
 */
export const PauseAgent = commandEnvelope('agent.pause', z.object({ reason: z.string().max(500).optional() }).strict());
/** Published by users: a paused agent's behaviour runs again in the same session. */
export const ResumeAgent = commandEnvelope('agent.resume', z.object({}).strict());
/** Published by users: replaces the agent's labels. */
export const LabelAgent = commandEnvelope('agent.label', z.object({ labels: AgentLabels }).strict());

/** Published by the scheduler: the session agent hosting the agent is gone. */
export const InterruptAgent = commandEnvelope(
  'agent.interrupt',
  z.object({ reason: z.string().max(500), instanceId: z.string().max(128).optional() }).strict(),
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

/**
 * Published by the scheduler at a `start` occurrence of the agent's schedule: restarts a
 * stopped or failed agent with its last behaviour, config and proxy (see `AgentSchedule`).
 */
export const WakeAgent = commandEnvelope('agent.wake', z.object({ occurrence: IsoDateTime }).strict());
/**
 * Published by the scheduler when rotation is on and agents wait for a slot: a running agent
 * that had its time slice stops (cookies saved) and is queued again behind the others.
 */
export const YieldAgent = commandEnvelope(
  'agent.yield',
  z.object({ ranForMs: z.number().int().nonnegative() }).strict(),
);

/** The command envelopes users may publish (the gateway's `POST /api/commands`); scheduler commands are not for them. */
export const UserCommand = z.discriminatedUnion('type', [
  StartAgent,
  StopAgent,
  RestartAgent,
  PauseAgent,
  ResumeAgent,
  LabelAgent,
]);

export const AgentCommand = z.discriminatedUnion('type', [
  StartAgent,
  StopAgent,
  RestartAgent,
  PauseAgent,
  ResumeAgent,
  LabelAgent,
  InterruptAgent,
  RecoverAgent,
  DequeueAgent,
  TimeOutAgentStart,
  WakeAgent,
  YieldAgent,
]);
export type AgentCommand = z.infer<typeof AgentCommand>;
export type StartAgent = z.infer<typeof StartAgent>;
export type StopAgent = z.infer<typeof StopAgent>;
export type WakeAgent = z.infer<typeof WakeAgent>;
/** The `agent.stop` reason the scheduler gives at a `stop` occurrence. */
export const SCHEDULED_STOP_REASON = 'scheduled stop';
export type AgentCommandType = AgentCommand['type'];
export const AGENT_COMMAND_TYPES = AgentCommand.options.map((o) => o.shape.type.value);
