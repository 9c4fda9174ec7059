import { Module, type DynamicModule } from '@nestjs/common';
import { RequestHandler } from './answer-queries/request.handler';
import { PersistenceController } from './persistence.controller';
import { AgentViewsProjector } from './project-events/agent-views.projector';
import { CommandLog } from './record-commands/command-log';
import { ReportsRecorder } from './record-reports/reports.recorder';

@Module({})
export class PersistenceModule {
  static forRoot(handlers: {
    projector: AgentViewsProjector;
    reports: ReportsRecorder;
    commandLog: CommandLog;
    requests: RequestHandler;
  }): DynamicModule {
    return {
      module: PersistenceModule,
      controllers: [PersistenceController],
      providers: [
        { provide: AgentViewsProjector, useValue: handlers.projector },
        { provide: ReportsRecorder, useValue: handlers.reports },
        { provide: CommandLog, useValue: handlers.commandLog },
        { provide: RequestHandler, useValue: handlers.requests },
      ],
    };
  }
}
