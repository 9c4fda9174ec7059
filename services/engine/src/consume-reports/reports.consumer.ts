import { SessionReport } from '@drover/contracts';
import { deadLetter, type Delivery, type Outcome } from '@drover/messaging';
import type { Logger } from '@drover/runtime';
import type { ProcessMessageHandler } from '../process-message/process-message.handler';
import { describeZodError } from '../infrastructure/describe-zod-error';

/** Entry point for `engine.reports`: session reports become transitions like commands do. */
export class ReportsConsumer {
  constructor(private readonly deps: { handler: ProcessMessageHandler; logger: Logger }) {}

  async onDelivery(delivery: Delivery): Promise<Outcome | void> {
    const parsed = SessionReport.safeParse(delivery.body);
    if (!parsed.success) {
      const reason = `invalid session report: ${describeZodError(parsed.error)}`;
      this.deps.logger.warn({ messageId: delivery.messageId, reason }, 'dead-lettering report');
      return deadLetter(reason);
    }
    const reply = await this.deps.handler.handle(parsed.data);
    if (reply.ok && reply.outcome === 'noop') {
      this.deps.logger.debug({ agentId: reply.agentId, type: parsed.data.type }, 'report changed nothing');
    }
  }
}
