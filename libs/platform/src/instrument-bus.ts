import type {
  Bus,
  Handler,
  PublishOptions,
  QueueSpec,
  QueueStats,
  RequestOptions,
  Settlement,
  SubscribeOptions,
  Subscription,
} from '@drover/messaging';
import type { DroverMetrics } from './metrics';

const SETTLEMENTS: readonly Settlement[] = ['ack', 'retry', 'dead-letter'];

/**
 * The same bus, counting every delivery's settlement per queue (`drover_bus_deliveries_total`),
 * including what the adapter decides on its own (content that is not JSON, the delivery limit).
 */
export class InstrumentedBus implements Bus {
  constructor(
    private readonly bus: Bus,
    private readonly metrics: DroverMetrics,
  ) {}

  subscribe(queue: string, handler: Handler, options: SubscribeOptions = {}): Promise<Subscription> {
    // Every series starts at 0, so rate() and increase() also see a queue's first dead letter.
    for (const outcome of SETTLEMENTS) this.metrics.deliveries.inc({ queue, outcome }, 0);
    return this.bus.subscribe(queue, handler, {
      ...options,
      onSettled: (settlement) => {
        this.metrics.deliveries.inc({ queue, outcome: settlement });
        options.onSettled?.(settlement);
      },
    });
  }

  publish(exchange: string, routingKey: string, body: unknown, options?: PublishOptions): Promise<void> {
    return this.bus.publish(exchange, routingKey, body, options);
  }

  request<T = unknown>(exchange: string, routingKey: string, body: unknown, options: RequestOptions): Promise<T> {
    return this.bus.request<T>(exchange, routingKey, body, options);
  }

  declareQueue(spec: QueueSpec): Promise<void> {
    return this.bus.declareQueue(spec);
  }

  deleteQueue(name: string): Promise<void> {
    return this.bus.deleteQueue(name);
  }

  queueStats(name: string): Promise<QueueStats> {
    return this.bus.queueStats(name);
  }

  ping(): Promise<void> {
    return this.bus.ping();
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}
