import { Module, type DynamicModule } from '@nestjs/common';
import { BUS, type Bus } from '@drover/messaging';
import { CLOCK, LOGGER, SecretBox, type Clock, type Logger } from '@drover/runtime';
import { CommandsConsumer } from './consume-commands/commands.consumer';
import { ReportsConsumer } from './consume-reports/reports.consumer';
import { ProcessMessageHandler } from './process-message/process-message.handler';

/** The engine's two inputs; Nest builds the consumers from what they depend on. */
@Module({})
export class EngineModule {
  static forRoot(deps: {
    handler: ProcessMessageHandler;
    bus: Bus;
    clock: Clock;
    logger: Logger;
    secrets: SecretBox;
  }): DynamicModule {
    return {
      module: EngineModule,
      controllers: [CommandsConsumer, ReportsConsumer],
      providers: [
        { provide: ProcessMessageHandler, useValue: deps.handler },
        { provide: BUS, useValue: deps.bus },
        { provide: CLOCK, useValue: deps.clock },
        { provide: LOGGER, useValue: deps.logger },
        { provide: SecretBox, useValue: deps.secrets },
      ],
    };
  }
}
