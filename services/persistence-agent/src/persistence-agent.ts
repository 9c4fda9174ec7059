import type { INestMicroservice } from '@nestjs/common';
import { READ_SIDE_INDEXES } from '@drover/contracts';
import { Queues, type Bus } from '@drover/messaging';
import { listenOnBus } from '@drover/messaging/nest';
import type { Clock, Logger } from '@drover/runtime';
import type { Store } from '@drover/store';
import { ReadQueries } from './answer-queries/read-queries';
import { RequestHandler } from './answer-queries/request.handler';
import { PersistenceModule } from './persistence.module';
import { AgentViewsProjector } from './project-events/agent-views.projector';
import { CommandLog } from './record-commands/command-log';
import { ReportsRecorder } from './record-reports/reports.recorder';
import { PersistenceTasks } from './run-tasks/persistence-tasks';

/**
 * The persistence agent (docs/design.md, section 1): the only writer of the read side, and the
 * executor of generic storage tasks and read queries for everyone else.
 */
export class PersistenceAgent {
  private app?: INestMicroservice;

  constructor(private readonly deps: { bus: Bus; store: Store; clock: Clock; logger: Logger }) {}

  async start(): Promise<void> {
    const { bus, store, logger } = this.deps;
    for (const index of READ_SIDE_INDEXES) {
      await store.documents.collection(index.collection).ensureIndex(index.fields, { unique: index.unique ?? false });
    }
    const module = PersistenceModule.forRoot({
      projector: new AgentViewsProjector(store),
      reports: new ReportsRecorder(store),
      commandLog: new CommandLog(store),
      requests: new RequestHandler(new ReadQueries(store), new PersistenceTasks(store), logger),
    });
    this.app = await listenOnBus(bus, module, [
      { name: Queues.persistenceEvents, prefetch: 8 },
      { name: Queues.persistenceReports, prefetch: 16 },
      { name: Queues.persistenceCommands, prefetch: 16 },
      { name: Queues.persistenceTasks, prefetch: 16 },
    ]);
    logger.info('persistence agent consuming');
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }
}
