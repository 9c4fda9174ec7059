import { AgentCommand, Exchanges, type CommandOutcome, type CommandReply } from '@drover/contracts';
import { validateBehaviorConfig } from '@drover/behaviors/catalog';
import { deadLetter, type Bus, type Delivery, type Outcome } from '@drover/messaging';
import type { Clock, Logger } from '@drover/runtime';
import type { ProcessMessageHandler } from '../process-message/process-message.handler';
import { describeZodError } from '../infrastructure/describe-zod-error';

/**
 * Entry point for `engine.commands`. A malformed command is dead-lettered at once with the
 * reason (and answered, when someone waits for it); a valid one is processed and answered.
 */
export class CommandsConsumer {
  constructor(private readonly deps: { handler: ProcessMessageHandler; bus: Bus; clock: Clock; logger: Logger }) {}

  async onDelivery(delivery: Delivery): Promise<Outcome | void> {
    const parsed = AgentCommand.safeParse(delivery.body);
    if (!parsed.success) {
      const reason = `invalid command: ${describeZodError(parsed.error)}`;
      this.deps.logger.warn(
        { messageId: delivery.messageId, routingKey: delivery.routingKey, reason },
        'dead-lettering command',
      );
      await delivery.reply?.({
        ok: false,
        commandId: delivery.messageId,
        agentId: '',
        error: { code: 'invalid_request', message: reason },
      });
      return deadLetter(reason);
    }
    const command = parsed.data;
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
    return this.answer(delivery, await this.deps.handler.handle(command));
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
        occurredAt: this.deps.clock.now().toISOString(),
      };
      await this.deps.bus.publish(Exchanges.events, outcome.type, outcome, { messageId: outcome.messageId });
    }
    await delivery.reply?.(reply);
  }
}
