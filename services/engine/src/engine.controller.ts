import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { Queues, type Outcome } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { CommandsConsumer } from './consume-commands/commands.consumer';
import { ReportsConsumer } from './consume-reports/reports.consumer';

/** The engine's two inputs as bus handlers. */
@Controller()
export class EngineController {
  constructor(
    @Inject(CommandsConsumer) private readonly commands: CommandsConsumer,
    @Inject(ReportsConsumer) private readonly reports: ReportsConsumer,
  ) {}

  @EventPattern(Queues.engineCommands)
  onCommand(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.commands.onDelivery(context.getDelivery());
  }

  @EventPattern(Queues.engineReports)
  onReport(@Ctx() context: BusContext): Promise<Outcome | void> {
    return this.reports.onDelivery(context.getDelivery());
  }
}
