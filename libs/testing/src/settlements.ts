import {
  BusDecorator,
  type Bus,
  type Handler,
  type Settlement,
  type SubscribeOptions,
  type Subscription,
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
    this.bus = new WatchedBus(
      inner,
      (queue) => this.consumer(queue),
      () => this.wake(),
    );
  }

  /** A new log for one more consumer of `queue`. */
  private consumer(queue: string): ConsumerLog {
    const log: ConsumerLog = { handled: [], settled: [] };
    this.consumers.set(queue, [...(this.consumers.get(queue) ?? []), log]);
    return log;
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

/** Records, per consumer, which deliveries its handler returned from and how the bus settled them. */
class WatchedBus extends BusDecorator {
  constructor(
    inner: Bus,
    private readonly newLog: (queue: string) => ConsumerLog,
    private readonly onSettled: () => void,
  ) {
    super(inner);
  }

  override subscribe(queue: string, handler: Handler, options: SubscribeOptions = {}): Promise<Subscription> {
    const log = this.newLog(queue);
    const watched: Handler = async (delivery) => {
      try {
        return await handler(delivery);
      } finally {
        log.handled.push(delivery.messageId);
      }
    };
    return this.inner.subscribe(queue, watched, {
      ...options,
      onSettled: (settlement) => {
        log.settled.push(settlement);
        options.onSettled?.(settlement);
        this.onSettled();
      },
    });
  }
}
