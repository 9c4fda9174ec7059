import {
  BusDecorator,
  type Bus,
  type Handler,
  type Settlement,
  type SubscribeOptions,
  type Subscription,
} from '@drover/messaging';
import type { DroverMetrics } from './metrics';

const SETTLEMENTS: readonly Settlement[] = ['ack', 'retry', 'dead-letter'];

/**
 * The same bus, counting every delivery's settlement per queue (`drover_bus_deliveries_total`),
 * including what the adapter decides on its own (content that is not JSON, the delivery limit).
 */
export class InstrumentedBus extends BusDecorator {
  constructor(
    bus: Bus,
    private readonly metrics: DroverMetrics,
  ) {
    super(bus);
  }

  override subscribe(queue: string, handler: Handler, options: SubscribeOptions = {}): Promise<Subscription> {
    // Every series starts at 0, so rate() and increase() also see a queue's first dead letter.
    for (const outcome of SETTLEMENTS) this.metrics.deliveries.inc({ queue, outcome }, 0);
    return this.inner.subscribe(queue, handler, {
      ...options,
      onSettled: (settlement) => {
        this.metrics.deliveries.inc({ queue, outcome: settlement });
        options.onSettled?.(settlement);
      },
    });
  }
}
