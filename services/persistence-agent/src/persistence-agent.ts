import type { INestMicroservice } from '@nestjs/common';
import { READ_SIDE_INDEXES } from '@drover/contracts';
import { DROVER_TOPOLOGY, Queues, type Bus } from '@drover/messaging';
import { listenOnBus } from '@drover/messaging/nest';
import type { Clock, Logger } from '@drover/runtime';
import { isStoreUnavailable, type Store } from '@drover/store';
import { DeadLetterKeeper, deadLetterQueues } from './keep-dead-letters/dead-letter-keeper';
import { PersistenceModule } from './persistence.module';
import { ReadSidePruner, type PrunerOptions } from './prune-read-side/read-side-pruner';

/**
 * The persistence agent (docs/design.md, section 1): the only writer of the read side, and the
 * executor of generic storage tasks and read queries for everyone else.
 */
export class PersistenceAgent {
  private app?: INestMicroservice;
  private readonly pruner?: ReadSidePruner;
  private readonly keeper?: DeadLetterKeeper;

  /**
   * `retention`: the profile's; without it the read side is never pruned (tests). `keepDeadLetters`:
   * file every dead letter of the topology in the read side (the services turn it on unless
   * `DROVER_DEAD_LETTER_KEEPER=false`); off, dead letters stay in their queues (tests that read them).
   */
  constructor(
    private readonly deps: { bus: Bus; store: Store; clock: Clock; logger: Logger },
    options: { retention?: PrunerOptions; keepDeadLetters?: boolean } = {},
  ) {
    if (options.keepDeadLetters) {
      const { bus, store, clock, logger } = deps;
      this.keeper = new DeadLetterKeeper(
        { bus, store, clock, logger: logger.child({ component: 'dead-letters' }) },
        deadLetterQueues(DROVER_TOPOLOGY),
      );
    }
    if (options.retention) {
      const { store, clock, logger } = deps;
      this.pruner = new ReadSidePruner(
        { store, clock, logger: logger.child({ component: 'retention' }) },
        options.retention,
      );
    }
  }

  async start(): Promise<void> {
    const { bus, store, logger } = this.deps;
    for (const index of READ_SIDE_INDEXES) {
      await store.documents.collection(index.collection).ensureIndex(index.fields, { unique: index.unique ?? false });
    }
    this.app = await listenOnBus(
      bus,
      PersistenceModule.forRoot({ store, logger, bus }),
      [
        { name: Queues.persistenceEvents, prefetch: 8 },
        { name: Queues.persistenceReports, prefetch: 16 },
        { name: Queues.persistenceHeartbeats, prefetch: 16 },
        { name: Queues.persistenceCommands, prefetch: 16 },
        { name: Queues.persistenceTasks, prefetch: 16 },
      ],
      { isUnavailable: isStoreUnavailable },
    );
    await this.keeper?.start();
    this.pruner?.start();
    logger.info('persistence agent consuming');
  }

  async stop(): Promise<void> {
    await this.pruner?.stop();
    await this.keeper?.stop();
    await this.app?.close();
    this.app = undefined;
  }
}
