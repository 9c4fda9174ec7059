import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { Queues, type Outcome } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { OWN_QUEUE_PATTERN } from './own-queue';
import type { SessionHost } from './session-host';

/** DI token of the host (a symbol: the host module imports this file, so no value import back). */
export const SESSION_HOST = Symbol('SessionHost');

/** Session work as bus handlers: starts from the shared queue, stops on the instance's own. */
@Controller()
export class SessionController {
  constructor(@Inject(SESSION_HOST) private readonly host: SessionHost) {}

  @EventPattern(Queues.pendingSessions)
  onPending(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.host.handle(context.getDelivery());
  }

  @EventPattern(OWN_QUEUE_PATTERN)
  onOwn(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.host.handle(context.getDelivery());
  }
}
