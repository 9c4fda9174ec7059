import { Module, type DynamicModule } from '@nestjs/common';
import { LOGGER, type Logger } from '@drover/runtime';
import { BUS, type Bus } from '@drover/messaging';
import { STORE, type Store } from '@drover/store';
import { ReadQueries } from './answer-queries/read-queries';
import { RequestHandler } from './answer-queries/request.handler';
import { AgentViewsProjector } from './project-events/agent-views.projector';
import { CommandLog } from './record-commands/command-log';
import { FeedWriter } from './record-feed/feed-writer';
import { ReportsRecorder } from './record-reports/reports.recorder';
import { PersistenceTasks } from './run-tasks/persistence-tasks';

/** The persistence agent's inputs; each consumer carries its own bus pattern. */
@Module({})
export class PersistenceModule {
  static forRoot(deps: { store: Store; logger: Logger; bus: Bus }): DynamicModule {
    return {
      module: PersistenceModule,
      controllers: [AgentViewsProjector, ReportsRecorder, CommandLog, RequestHandler],
      providers: [
        ReadQueries,
        PersistenceTasks,
        FeedWriter,
        { provide: BUS, useValue: deps.bus },
        { provide: STORE, useValue: deps.store },
        { provide: LOGGER, useValue: deps.logger },
      ],
    };
  }
}
