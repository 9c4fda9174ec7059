import type {
  Bus,
  Handler,
  PublishOptions,
  QueueSpec,
  QueueStats,
  RequestOptions,
  SubscribeOptions,
  Subscription,
} from './bus.port';

/**
 * A `Bus` that hands every call to `inner`: extend it and override what you observe (metrics
 * on settlements, a test's wait for a settlement) without restating the rest of the port.
 */
export class BusDecorator implements Bus {
  constructor(protected readonly inner: Bus) {}

  publish(exchange: string, routingKey: string, body: unknown, options?: PublishOptions): Promise<void> {
    return this.inner.publish(exchange, routingKey, body, options);
  }

  subscribe(queue: string, handler: Handler, options?: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(queue, handler, options);
  }

  request<T = unknown>(exchange: string, routingKey: string, body: unknown, options: RequestOptions): Promise<T> {
    return this.inner.request<T>(exchange, routingKey, body, options);
  }

  declareQueue(spec: QueueSpec): Promise<void> {
    return this.inner.declareQueue(spec);
  }

  deleteQueue(name: string): Promise<void> {
    return this.inner.deleteQueue(name);
  }

  queueStats(name: string): Promise<QueueStats> {
    return this.inner.queueStats(name);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
