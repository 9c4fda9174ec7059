import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { SessionReport } from '@drover/contracts';
import { deadLetter, parseOrDeadLetter, Queues, type Outcome } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { LOGGER, type Logger } from '@drover/runtime';
import { MESSAGE_ID_REUSED, ProcessMessageHandler } from '../process-message/process-message.handler';

/** Entry point for `engine.reports`: session reports become transitions like commands do. */
@Controller()
export class ReportsConsumer {
  constructor(
    @Inject(ProcessMessageHandler) private readonly handler: ProcessMessageHandler,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @EventPattern(Queues.engineReports)
  async onReport(@Ctx() context: BusContext): Promise<Outcome | void> {
    const parsed = parseOrDeadLetter(context.getDelivery(), SessionReport, 'session report', this.logger);
    if (!parsed.ok) return parsed.outcome;
    const reply = await this.handler.handle(parsed.value);
    if (!reply.ok && reply.error.code === MESSAGE_ID_REUSED) return deadLetter(reply.error.message);
    if (reply.ok && reply.outcome === 'noop') {
      this.logger.debug({ agentId: reply.agentId, type: parsed.value.type }, 'report changed nothing');
    }
  }
}
