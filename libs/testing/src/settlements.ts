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

/** One consumer's deliveries: whose handler has returned, and how many the bus has settled since. */
interface ConsumerLog {
  handled: string[];
  settled: Settlement[];
}

interface Waiter {
  queue: string;
  messageId: string;
  resolve: () => void;
}

/**
 * A `Bus` that passes everything to `inner` and watches how deliveries are settled, through the
 * port's `SubscribeOptions.onSettled` (which the consumer under test never sets itself). Hand
 * `bus` to the service under test, then `await settled(queue, messageId)` instead of sleeping.
 *
 * `onSettled` does not name the delivery, so a delivery counts as settled once its handler has
 * returned and the bus has reported as many settlements for that consumer as handlers returned:
 * then every returned delivery, this one included, has been settled at least once.
 */
export class SettlementWatch {
  readonly bus: Bus;
  private readonly consumers = new Map<string, ConsumerLog[]>();
  private waiters: Waiter[] = [];

  constructor(inner: Bus) {
    const subscribe = (queue: string, handler: Handler, options: SubscribeOptions = {}): Promise<Subscription> => {
      const log: ConsumerLog = { handled: [], settled: [] };
      this.consumers.set(queue, [...(this.consumers.get(queue) ?? []), log]);
      const watched: Handler = async (delivery) => {
        try {
          return await handler(delivery);
        } finally {
          log.handled.push(delivery.messageId);
        }
      };
      return inner.subscribe(queue, watched, {
        ...options,
        onSettled: (settlement) => {
          log.settled.push(settlement);
          options.onSettled?.(settlement);
          this.wake();
        },
      });
    };
    this.bus = {
      publish: (exchange: string, routingKey: string, body: unknown, options?: PublishOptions) =>
        inner.publish(exchange, routingKey, body, options),
      subscribe,
      request: <T>(exchange: string, routingKey: string, body: unknown, options: RequestOptions) =>
        inner.request<T>(exchange, routingKey, body, options),
      declareQueue: (spec: QueueSpec) => inner.declareQueue(spec),
      deleteQueue: (name: string) => inner.deleteQueue(name),
      queueStats: (name: string): Promise<QueueStats> => inner.queueStats(name),
      ping: () => inner.ping(),
      close: () => inner.close(),
    };
  }

  /** Resolves once the delivery `messageId` on `queue` has been settled; rejects after `timeoutMs`. */
  settled(queue: string, messageId: string, timeoutMs = 3_000): Promise<void> {
    if (this.isSettled(queue, messageId)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${messageId} on ${queue} not settled within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        queue,
        messageId,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Every settlement the bus reported for `queue`, per consumer in the order reported. */
  settlements(queue: string): Settlement[] {
    return (this.consumers.get(queue) ?? []).flatMap((log) => log.settled);
  }

  private isSettled(queue: string, messageId: string): boolean {
    return (this.consumers.get(queue) ?? []).some(
      (log) => log.handled.includes(messageId) && log.settled.length >= log.handled.length,
    );
  }

  private wake(): void {
    const due = this.waiters.filter((w) => this.isSettled(w.queue, w.messageId));
    this.waiters = this.waiters.filter((w) => !due.includes(w));
    for (const waiter of due) waiter.resolve();
  }
}
