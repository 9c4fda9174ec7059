import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import {
  AgentCommand,
  Exchanges,
  reservedPrefixError,
  type CommandOutcome,
  type CommandReply,
} from '@drover/contracts';
import { openStartSecrets, sealStartPayload, validateBehaviorConfig } from '@drover/behaviors/catalog';
import {
  BUS,
  deadLetter,
  parseOrDeadLetter,
  Queues,
  replaceWith,
  type Bus,
  type Delivery,
  type Outcome,
} from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { CLOCK, LOGGER, SealedValueError, SecretBox, type Clock, type Logger } from '@drover/runtime';
import { MESSAGE_ID_REUSED, ProcessMessageHandler } from '../process-message/process-message.handler';

/**
 * Carried by the sealed copy of a start that must be refused (its sealed secrets do not open
 * here): the copy is dead-lettered with this reason, and the original, in clear, is gone.
 */
const REFUSED_HEADER = 'x-drover-refused';

/**
 * Entry point for `engine.commands`. A start published with secrets in clear is first replaced
 * by a sealed copy (see `sealInClear`). A malformed command is dead-lettered at once with the
 * reason (and answered, when someone waits for it); so is one whose messageId belongs to
 * another agent or command, or, when senders are told apart, one using a message id prefix
 * reserved for another service. A valid one is processed and answered.
 */
@Controller()
export class CommandsConsumer {
  constructor(
    @Inject(ProcessMessageHandler) private readonly handler: ProcessMessageHandler,
    @Inject(BUS) private readonly bus: Bus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SecretBox) private readonly secrets: SecretBox,
  ) {}

  @EventPattern(Queues.engineCommands)
  onCommand(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.consume(context.getDelivery());
  }

  /** Validates, processes and answers one command. */
  private async consume(delivery: Delivery): Promise<Outcome | void> {
    const refused = delivery.headers[REFUSED_HEADER];
    if (typeof refused === 'string') return this.refuseSealed(delivery, refused);
    const sealed = this.sealInClear(delivery);
    if (sealed) return sealed;
    const parsed = parseOrDeadLetter(delivery, AgentCommand, 'command', this.logger);
    if (!parsed.ok) {
      await delivery.reply?.({
        ok: false,
        commandId: delivery.messageId,
        agentId: '',
        error: { code: 'invalid_request', message: parsed.reason },
      });
      return parsed.outcome;
    }
    const command = parsed.value;
    if (delivery.routingKey !== command.type) {
      const reason = `routing key ${delivery.routingKey} does not match type ${command.type}`;
      await delivery.reply?.({
        ok: false,
        commandId: command.messageId,
        agentId: command.agentId,
        error: { code: 'invalid_request', message: reason },
      });
      return deadLetter(reason);
    }
    // `senderRole` is set only when the bus tells senders apart (see SenderGuardBus).
    const reserved = delivery.senderRole && reservedPrefixError(command.messageId, delivery.senderRole);
    if (reserved) return this.refuse(delivery, command, `${reserved}, not the ${delivery.senderRole}`);
    if (command.type === 'agent.start') {
      // The config as the session will run it: its secret fields hold `***` until opened.
      const { config } = openStartSecrets(this.secrets, command.agentId, {
        ...command.payload,
        config: command.payload.config ?? {},
      });
      const check = validateBehaviorConfig(command.payload.behavior, config);
      if (!check.ok)
        return this.answer(delivery, {
          ok: false,
          commandId: command.messageId,
          agentId: command.agentId,
          error: { code: check.code, message: check.message, details: check.issues },
        });
    }
    const reply = await this.handler.handle(command);
    if (!reply.ok && reply.error.code === MESSAGE_ID_REUSED) {
      // No `command.rejected` outcome: the command log's entry of this id is the first command's.
      await delivery.reply?.(reply);
      return deadLetter(reply.error.message);
    }
    return this.answer(delivery, reply);
  }

  /** Answers a waiting caller and dead-letters the command, recording nothing on the read side. */
  private async refuse(delivery: Delivery, command: AgentCommand, reason: string): Promise<Outcome> {
    this.logger.warn(
      { messageId: command.messageId, correlationId: command.correlationId, sender: delivery.sender, reason },
      'command refused',
    );
    await delivery.reply?.({
      ok: false,
      commandId: command.messageId,
      agentId: command.agentId,
      error: { code: 'reserved_message_id', message: reason, details: [{ field: 'messageId', message: reason }] },
    });
    return deadLetter(reason);
  }

  /**
   * A start whose secrets came in clear (published straight to `drover.commands`) is replaced in
   * its queue by a copy with them sealed (same message id, sender and reply address) and the
   * original is acknowledged: from here on, retries, the command log and dead letters only ever
   * hold the sealed copy. Redelivered after a crash between the two, it is sealed again, and the
   * engine drops the second copy by its message id. Valid or not, the body is read as far as it
   * goes, so a start that will be refused leaves no secret in the dead-letter queue either.
   * Returns undefined when there is nothing in clear.
   */
  private sealInClear(delivery: Delivery): Outcome | undefined {
    const body = delivery.body as { type?: unknown; agentId?: unknown; payload?: unknown };
    if (!isRecord(body) || body.type !== 'agent.start' || !isRecord(body.payload)) return undefined;
    const agentId = typeof body.agentId === 'string' ? body.agentId : '';
    let refusal: string | undefined;
    let result;
    try {
      result = sealStartPayload(this.secrets, agentId, body.payload);
    } catch (error) {
      if (!(error instanceof SealedValueError)) throw error;
      refusal = `invalid command: payload.secrets: ${error.message}`;
      const { secrets: _unopened, ...rest } = body.payload;
      result = sealStartPayload(this.secrets, agentId, rest);
    }
    if (!result.sealed && !refusal) return undefined;
    const payload = refusal ? { ...result.payload, secrets: undefined } : result.payload;
    this.logger.info({ messageId: delivery.messageId, agentId }, 'start sent with secrets in clear: sealed');
    return replaceWith({ ...body, payload }, refusal ? { [REFUSED_HEADER]: refusal } : undefined);
  }

  private async refuseSealed(delivery: Delivery, reason: string): Promise<Outcome> {
    const body = delivery.body as { agentId?: unknown };
    await delivery.reply?.({
      ok: false,
      commandId: delivery.messageId,
      agentId: typeof body?.agentId === 'string' ? body.agentId : '',
      error: { code: 'invalid_request', message: reason },
    });
    return deadLetter(reason);
  }

  /** Replies to a waiting caller and records commands that committed nothing on the read side. */
  private async answer(delivery: Delivery, reply: CommandReply): Promise<void> {
    const failed = !reply.ok;
    if (failed || reply.outcome === 'noop') {
      const outcome: CommandOutcome = {
        messageId: `${reply.commandId}:outcome`,
        type: failed ? 'command.rejected' : 'command.noop',
        commandId: reply.commandId,
        agentId: reply.agentId,
        code: failed ? reply.error.code : 'noop',
        message: failed ? reply.error.message : `agent is ${reply.view.status}`,
        occurredAt: this.clock.now().toISOString(),
      };
      await this.bus.publish(Exchanges.events, outcome.type, outcome, { messageId: outcome.messageId });
    }
    await delivery.reply?.(reply);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
