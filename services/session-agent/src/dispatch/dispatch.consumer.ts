import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { SessionDispatch } from '@drover/contracts';
import { parseOrDeadLetter, Queues, type Outcome } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { LOGGER, type Logger } from '@drover/runtime';
import { SESSION_WORK, type SessionWork } from './session-work.port';

/** Pattern of this instance's own dispatch queue (its name holds the instance id). */
export const OWN_QUEUE_PATTERN = 'session-agent.own';

/** Session work from the bus: starts from the shared queue; stops, pauses and resumes on the instance's own. */
@Controller()
export class DispatchConsumer {
  constructor(
    @Inject(SESSION_WORK) private readonly work: SessionWork,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @EventPattern(Queues.pendingSessions)
  onPending(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.consume(context);
  }

  @EventPattern(OWN_QUEUE_PATTERN)
  onOwn(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.consume(context);
  }

  private async consume(context: BusContext): Promise<Outcome | void> {
    const parsed = parseOrDeadLetter(context.getDelivery(), SessionDispatch, 'dispatch', this.logger);
    if (!parsed.ok) return parsed.outcome;
    const work = parsed.value;
    switch (work.type) {
      case 'session.start':
        return this.work.startSession(work);
      case 'session.stop':
        return this.work.stopSession(work);
      case 'session.pause':
        return this.work.pauseSession(work);
      case 'session.resume':
        return this.work.resumeSession(work);
    }
  }
}
