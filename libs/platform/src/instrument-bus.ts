import type {
  Bus,
  Handler,
  Outcome,
  PublishOptions,
  QueueSpec,
  QueueStats,
  RequestOptions,
  SubscribeOptions,
  Subscription,
} from '@drover/messaging';
import type { DroverMetrics } from './metrics';

/** The same bus, counting every delivery's outcome per queue (`drover_bus_deliveries_total`). */
export class InstrumentedBus implements Bus {
  constructor(
    private readonly bus: Bus,
    private readonly metrics: DroverMetrics,
  ) {}

  subscribe(queue: string, handler: Handler, options?: SubscribeOptions): Promise<Subscription> {
    const count = (outcome: Outcome | void) =>
      this.metrics.deliveries.inc({ queue, outcome: outcome?.action ?? 'ack' });
    return this.bus.subscribe(
      queue,
      async (delivery) => {
        try {
          const outcome = await handler(delivery);
          count(outcome);
          return outcome;
        } catch (error) {
          count({ action: 'retry', reason: '' });
          throw error;
        }
      },
      options,
    );
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
