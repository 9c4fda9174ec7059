import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern } from '@nestjs/microservices';
import { Queues, type Outcome } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import type { PersistenceReply } from '@drover/contracts';
import { AgentViewsProjector } from './project-events/agent-views.projector';
import { CommandLog } from './record-commands/command-log';
import { ReportsRecorder } from './record-reports/reports.recorder';
import { RequestHandler } from './answer-queries/request.handler';

/** The persistence agent's inputs as bus handlers. */
@Controller()
export class PersistenceController {
  constructor(
    @Inject(AgentViewsProjector) private readonly projector: AgentViewsProjector,
    @Inject(ReportsRecorder) private readonly reports: ReportsRecorder,
    @Inject(CommandLog) private readonly commandLog: CommandLog,
    @Inject(RequestHandler) private readonly requests: RequestHandler,
  ) {}

  @EventPattern(Queues.persistenceEvents)
  onEvent(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.projector.onDelivery(context.getDelivery());
  }

  @EventPattern(Queues.persistenceReports)
  onReport(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.reports.onDelivery(context.getDelivery());
  }

  @EventPattern(Queues.persistenceCommands)
  onCommand(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.commandLog.onDelivery(context.getDelivery());
  }

  /** Read queries and generic tasks, answered over request/reply. */
  @MessagePattern(Queues.persistenceTasks)
  onRequest(@Ctx() context: BusContext): Promise<PersistenceReply> {
    return this.requests.answer(context.getDelivery());
  }
}
