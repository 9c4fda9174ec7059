import { Collections } from '@drover/contracts';
import { waitFor, type Bus, type Delivery, type Outcome, type Subscription, type Topology } from '@drover/messaging';
import type { Clock, Logger } from '@drover/runtime';
import { isStoreUnavailable, type Store } from '@drover/store';
import { insertOnce } from '../infrastructure/documents';
import { deadLetterRecord } from './dead-letter-record';

/** Every dead-letter queue of the topology: each queue's own (`<queue>.dead` by default) and the shared ones. */
export function deadLetterQueues(topology: Topology): string[] {
  const names = new Set<string>();
  for (const queue of topology.queues) {
    if (queue.sharedDeadLetter) names.add(queue.sharedDeadLetter.queue);
    else if (queue.deadLetterQueue !== false) names.add(queue.deadLetterQueue ?? `${queue.name}.dead`);
  }
  for (const shared of topology.sharedDeadLetterQueues ?? []) names.add(shared.name);
  return [...names];
}

/**
 * The dead-letter keeper (docs/dead-letters-and-load.md), like NServiceBus ServiceControl
 * ingesting the error queue: it consumes every dead-letter queue and files each dead letter in
 * `dead_letters` (redacted body, reason, origin), where the API lists, shows and replays them.
 * The `.dead` queues thereby become the keeper's inbox: dead letters wait there (bounded by the
 * broker policy) while no persistence agent runs, and are filed once one does. Filing is
 * idempotent (the id derives from the message), so a redelivery files nothing twice. While the
 * store is away a dead letter waits in its queue (uncounted retries), since a dead-letter queue
 * has no dead-letter queue of its own to fall back on.
 */
export class DeadLetterKeeper {
  private subscriptions: Subscription[] = [];

  constructor(
    private readonly deps: { bus: Bus; store: Store; clock: Clock; logger: Logger },
    private readonly queues: string[],
  ) {}

  async start(): Promise<void> {
    for (const queue of this.queues) {
      this.subscriptions.push(
        await this.deps.bus.subscribe(queue, (delivery) => this.file(queue, delivery), { prefetch: 8 }),
      );
    }
  }

  async stop(): Promise<void> {
    const subscriptions = this.subscriptions;
    this.subscriptions = [];
    await Promise.all(subscriptions.map((subscription) => subscription.cancel()));
  }

  private async file(deadLetterQueue: string, delivery: Delivery): Promise<Outcome | void> {
    const record = deadLetterRecord(delivery, deadLetterQueue, this.deps.clock.now());
    try {
      await insertOnce(this.deps.store.documents.collection(Collections.deadLetters), record);
    } catch (error) {
      if (isStoreUnavailable(error)) return waitFor('the store is unavailable');
      throw error;
    }
    this.deps.logger.info(
      { id: record._id, queue: record.queue, messageId: record.messageId, reason: record.reason },
      'dead letter filed',
    );
  }
}
