import { Module, type DynamicModule } from '@nestjs/common';
import { CommandsConsumer } from './consume-commands/commands.consumer';
import { ReportsConsumer } from './consume-reports/reports.consumer';
import { EngineController } from './engine.controller';

@Module({})
export class EngineModule {
  static forRoot(consumers: { commands: CommandsConsumer; reports: ReportsConsumer }): DynamicModule {
    return {
      module: EngineModule,
      controllers: [EngineController],
      providers: [
        { provide: CommandsConsumer, useValue: consumers.commands },
        { provide: ReportsConsumer, useValue: consumers.reports },
      ],
    };
  }
}
