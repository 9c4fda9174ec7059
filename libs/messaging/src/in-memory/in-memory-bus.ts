import type { Logger } from '@drover/runtime';
import {
  type Bus,
  type ExchangeSpec,
  type Handler,
  type PublishOptions,
  type QueueSpec,
  type QueueStats,
  type RequestOptions,
  RequestTimeoutError,
  type SubscribeOptions,
  type Subscription,
  type Topology,
  UnroutableError,
} from '../bus.port';
import {
  DEFAULT_DELIVERY_LIMIT,
  DEFAULT_PREFETCH,
  DEFAULT_RETRY_DELAYS_MS,
  messageJson,
  waitAtMost,
} from '../delivery-policy';
import { InMemoryDispatcher, Timers } from './in-memory-dispatcher';
import {
  newQueueState,
  pushReady,
  storedMessage,
  trimToBounds,
  type Consumer,
  type QueueBounds,
  type QueueState,
  type StoredMessage,
} from './in-memory-queue';
import { addBindings, bindingMatches } from './in-memory-routing';

export { bindingMatches } from './in-memory-routing';

/** Options of the in-memory bus. */
export interface InMemoryBusOptions {
  /** Delay before the n-th redelivery (index `attempt - 1`); the last entry repeats. Default `DEFAULT_RETRY_DELAYS_MS`. */
  retryDelaysMs?: number[];
  /** Receives debug lines and a warning per dead letter (never bodies). */
  logger?: Logger;
  /** Delivery limit of queues that do not set one. Default `DEFAULT_DELIVERY_LIMIT`. */
  defaultDeliveryLimit?: number;
  /**
   * Bounds of every dead-letter queue: the profile's `retention.deadLetters`, the same bounds
   * bootstrap gives the broker's `*.dead` queues. Default: unbounded.
   */
  deadLetterBounds?: QueueBounds;
  /** Epoch milliseconds, for the age of dead letters; `Date.now` by default (tests replace it). */
  now?: () => number;
}

/** How long `close` waits for running handlers. */
const CLOSE_GRACE_MS = 5000;

/**
 * The embedded adapter of the `Bus` port: exchanges, bindings, queues with delivery limits and dead-letter
 * queues, competing consumers with prefetch, delayed retries and request/reply, all in process memory.
 * Mirrors RabbitMQ's semantics where sensible so the same contract suite runs against both. Routing and
 * topology live here; consuming and settlement in `InMemoryDispatcher`.
 */
export class InMemoryBus implements Bus {
  private readonly exchanges = new Map<string, ExchangeSpec['type']>();
  private readonly queues = new Map<string, QueueState>();
  private readonly timers = new Timers();
  private readonly pendingRequests = new Set<(error: Error) => void>();
  private readonly dispatcher: InMemoryDispatcher;
  private readonly defaultDeliveryLimit: number;
  private readonly logger: Logger | undefined;
  private readonly deadLetterBounds: QueueBounds;
  private readonly now: () => number;
  private closed = false;

  constructor(topology: Topology, options: InMemoryBusOptions = {}) {
    this.defaultDeliveryLimit = options.defaultDeliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
    this.logger = options.logger;
    this.deadLetterBounds = options.deadLetterBounds ?? {};
    this.now = options.now ?? Date.now;
    this.dispatcher = new InMemoryDispatcher({
      queues: this.queues,
      timers: this.timers,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      isClosed: () => this.closed,
      now: this.now,
      ...(options.logger ? { logger: options.logger } : {}),
    });
    for (const exchange of topology.exchanges) this.exchanges.set(exchange.name, exchange.type);
    for (const queue of topology.queues) this.declare(queue);
    // Dead letters are moved straight to their queue here, so a shared one needs no binding.
    for (const shared of topology.sharedDeadLetterQueues ?? []) {
      if (!this.queues.has(shared.name)) this.createDeadLetterQueue(shared.name);
    }
  }

  async publish(exchange: string, routingKey: string, body: unknown, options: PublishOptions = {}): Promise<void> {
    this.assertOpen();
    const targets = this.route(exchange, routingKey);
    const message = storedMessage(exchange, routingKey, body, options);
    if (targets.length === 0) this.logger?.debug({ exchange, routingKey }, 'message routed to no queue, dropped');
    this.enqueue(targets, message);
  }

  async request<T = unknown>(exchange: string, routingKey: string, body: unknown, options: RequestOptions): Promise<T> {
    this.assertOpen();
    const targets = this.route(exchange, routingKey);
    if (targets.length === 0) throw new UnroutableError(exchange, routingKey);
    const message = storedMessage(exchange, routingKey, body, options);
    return new Promise<T>((resolve, reject) => {
      let answered = false;
      const finish = (settle: () => void): void => {
        if (answered) return;
        answered = true;
        this.timers.clear(timer);
        this.pendingRequests.delete(fail);
        settle();
      };
      const fail = (error: Error): void => finish(() => reject(error));
      const timer = this.timers.start(
        () => fail(new RequestTimeoutError(exchange, routingKey, options.timeoutMs)),
        options.timeoutMs,
      );
      this.pendingRequests.add(fail);
      message.reply = async (answer: unknown): Promise<void> => {
        if (answered) return;
        const copy = JSON.parse(messageJson('(reply)', routingKey, answer)) as T;
        finish(() => resolve(copy));
      };
      this.enqueue(targets, message);
    });
  }

  async subscribe(queue: string, handler: Handler, options: SubscribeOptions = {}): Promise<Subscription> {
    this.assertOpen();
    const state = this.requireQueue(queue);
    const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError(`prefetch must be a positive integer`);
    const consumer: Consumer = { handler, onSettled: options.onSettled, prefetch, inFlight: 0, running: new Set() };
    state.consumers.push(consumer);
    this.dispatcher.schedule(state);
    return { cancel: () => this.dispatcher.cancel(state, consumer) };
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    this.assertOpen();
    this.declare(spec);
  }

  async deleteQueue(name: string): Promise<void> {
    this.assertOpen();
    const state = this.queues.get(name);
    if (!state) return;
    this.queues.delete(name);
    state.consumers = [];
    state.ready = [];
  }

  async queueStats(name: string): Promise<QueueStats> {
    this.assertOpen();
    const state = this.requireQueue(name);
    trimToBounds(state, this.now());
    return { messages: state.ready.length + state.unacked + state.delayed, consumers: state.consumers.length };
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearAll();
    for (const fail of [...this.pendingRequests]) fail(new Error('bus closed'));
    const running: Promise<void>[] = [];
    for (const state of this.queues.values()) {
      for (const consumer of state.consumers) running.push(...consumer.running);
      state.consumers = [];
    }
    await waitAtMost(Promise.all(running), CLOSE_GRACE_MS);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('bus closed');
  }

  private requireQueue(name: string): QueueState {
    const state = this.queues.get(name);
    if (!state) throw new Error(`unknown queue "${name}"`);
    return state;
  }

  private requireExchange(name: string): ExchangeSpec['type'] {
    const type = this.exchanges.get(name);
    if (!type) throw new Error(`unknown exchange "${name}"`);
    return type;
  }

  /** Creates the queue (and its dead-letter queue) or adds the new bindings to an existing one. */
  private declare(spec: QueueSpec): void {
    for (const binding of spec.bindings) this.requireExchange(binding.exchange);
    const existing = this.queues.get(spec.name);
    const state = existing ?? this.createQueue(spec);
    if (existing) addBindings(existing.bindings, spec.bindings);
    if (state.deadLetterQueue !== undefined && !this.queues.has(state.deadLetterQueue)) {
      this.createDeadLetterQueue(state.deadLetterQueue);
    }
  }

  private createQueue(spec: QueueSpec, bounds?: QueueBounds): QueueState {
    const state = newQueueState(spec, this.defaultDeliveryLimit, bounds);
    this.queues.set(spec.name, state);
    return state;
  }

  /** A dead-letter queue has no dead-letter queue of its own: what its bounds drop is gone. */
  private createDeadLetterQueue(name: string): void {
    this.createQueue({ name, bindings: [], deadLetterQueue: false }, this.deadLetterBounds);
  }

  /** The queues a message published to `exchange` with `routingKey` lands in (each at most once). */
  private route(exchange: string, routingKey: string): QueueState[] {
    const type = this.requireExchange(exchange);
    return [...this.queues.values()].filter((state) =>
      state.bindings.some(
        (binding) => binding.exchange === exchange && bindingMatches(type, binding.pattern, routingKey),
      ),
    );
  }

  private enqueue(targets: QueueState[], message: StoredMessage): void {
    for (const state of targets) {
      pushReady(state, { ...message }, this.now());
      this.dispatcher.schedule(state);
    }
  }
}
