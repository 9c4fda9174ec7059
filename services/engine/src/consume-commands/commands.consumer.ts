import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import {
  AgentCommand,
  Exchanges,
  reservedPrefixError,
  type CommandOutcome,
  type CommandReply,
} from '@drover/contracts';
import { validateBehaviorConfig } from '@drover/behaviors/catalog';
import { BUS, deadLetter, parseOrDeadLetter, Queues, type Bus, type Delivery, type Outcome } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { CLOCK, LOGGER, type Clock, type Logger } from '@drover/runtime';
import { MESSAGE_ID_REUSED, ProcessMessageHandler } from '../process-message/process-message.handler';

/**
 * Entry point for `engine.commands`. A malformed command is dead-lettered at once with the
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
  ) {}

  @EventPattern(Queues.engineCommands)
  onCommand(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.consume(context.getDelivery());
  }

  /** Validates, processes and answers one command. */
  private async consume(delivery: Delivery): Promise<Outcome | void> {
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
      const check = validateBehaviorConfig(command.payload.behavior, command.payload.config ?? {});
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
    this.logger.warn({ messageId: command.messageId, sender: delivery.sender, reason }, 'command refused');
    await delivery.reply?.({
      ok: false,
      commandId: command.messageId,
      agentId: command.agentId,
      error: { code: 'reserved_message_id', message: reason, details: [{ field: 'messageId', message: reason }] },
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
