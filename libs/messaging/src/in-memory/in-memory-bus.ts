import { randomUUID } from 'node:crypto';
import type { Logger } from '@drover/runtime';
import {
  type BindingSpec,
  type Bus,
  type Delivery,
  type ExchangeSpec,
  type Handler,
  type Outcome,
  type PublishOptions,
  type QueueSpec,
  type QueueStats,
  type RequestOptions,
  RequestTimeoutError,
  type Settlement,
  type SubscribeOptions,
  type Subscription,
  type Topology,
  UnroutableError,
} from '../bus.port';
import { ack, DEATH_QUEUE_HEADER, DEATH_REASON_HEADER, retryLater } from '../outcomes';

/** Options of the in-memory bus. */
export interface InMemoryBusOptions {
  /** Delay before the n-th redelivery (index `attempt - 1`); the last entry repeats. Default `[100, 500, 2000]`. */
  retryDelaysMs?: number[];
  /** Receives debug lines and a warning per dead letter (never bodies). */
  logger?: Logger;
  /** Delivery limit of queues that do not set one. Default 5. */
  defaultDeliveryLimit?: number;
}

const DEFAULT_RETRY_DELAYS_MS = [100, 500, 2000];
const FALLBACK_RETRY_DELAY_MS = 1000;
const DEFAULT_DELIVERY_LIMIT = 5;
const DEFAULT_PREFETCH = 10;
/** How long `close` waits for running handlers. */
const CLOSE_GRACE_MS = 5000;

/** A message as stored in a queue; body and headers are JSON text, parsed afresh for each delivery. */
interface StoredMessage {
  exchange: string;
  routingKey: string;
  messageId: string;
  body: string;
  headers: string;
  attempt: number;
  reply?: (body: unknown) => Promise<void>;
}

interface Consumer {
  handler: Handler;
  onSettled?: (settlement: Settlement) => void;
  prefetch: number;
  inFlight: number;
  running: Set<Promise<void>>;
}

interface QueueState {
  name: string;
  bindings: BindingSpec[];
  deliveryLimit: number;
  autoDelete: boolean;
  deadLetterQueue: string | undefined;
  ready: StoredMessage[];
  unacked: number;
  delayed: number;
  consumers: Consumer[];
  nextConsumer: number;
  dispatchScheduled: boolean;
}

/**
 * The embedded adapter of the `Bus` port: exchanges, bindings, queues with delivery limits and dead-letter
 * queues, competing consumers with prefetch, delayed retries and request/reply, all in process memory.
 * Mirrors RabbitMQ's semantics where sensible so the same contract suite runs against both.
 */
export class InMemoryBus implements Bus {
  private readonly exchanges = new Map<string, ExchangeSpec['type']>();
  private readonly queues = new Map<string, QueueState>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pendingRequests = new Set<(error: Error) => void>();
  private readonly retryDelaysMs: number[];
  private readonly defaultDeliveryLimit: number;
  private readonly logger: Logger | undefined;
  private closed = false;

  constructor(topology: Topology, options: InMemoryBusOptions = {}) {
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.defaultDeliveryLimit = options.defaultDeliveryLimit ?? DEFAULT_DELIVERY_LIMIT;
    this.logger = options.logger;
    for (const exchange of topology.exchanges) this.exchanges.set(exchange.name, exchange.type);
    for (const queue of topology.queues) this.declare(queue);
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
        clearTimeout(timer);
        this.timers.delete(timer);
        this.pendingRequests.delete(fail);
        settle();
      };
      const fail = (error: Error): void => finish(() => reject(error));
      const timer = this.startTimer(
        () => fail(new RequestTimeoutError(exchange, routingKey, options.timeoutMs)),
        options.timeoutMs,
      );
      this.pendingRequests.add(fail);
      message.reply = async (answer: unknown): Promise<void> => {
        if (answered) return;
        const copy = JSON.parse(toJson(answer)) as T;
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
    this.scheduleDispatch(state);
    return { cancel: () => this.cancel(state, consumer) };
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
    return { messages: state.ready.length + state.unacked + state.delayed, consumers: state.consumers.length };
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
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
    if (existing) addBindings(existing, spec.bindings);
    if (state.deadLetterQueue !== undefined && !this.queues.has(state.deadLetterQueue)) {
      this.createQueue({ name: state.deadLetterQueue, bindings: [], deadLetterQueue: false });
    }
  }

  private createQueue(spec: QueueSpec): QueueState {
    const state: QueueState = {
      name: spec.name,
      bindings: [],
      deliveryLimit: spec.deliveryLimit ?? this.defaultDeliveryLimit,
      autoDelete: spec.autoDelete ?? false,
      deadLetterQueue: spec.deadLetterQueue === false ? undefined : (spec.deadLetterQueue ?? `${spec.name}.dead`),
      ready: [],
      unacked: 0,
      delayed: 0,
      consumers: [],
      nextConsumer: 0,
      dispatchScheduled: false,
    };
    addBindings(state, spec.bindings);
    this.queues.set(spec.name, state);
    return state;
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
      state.ready.push({ ...message });
      this.scheduleDispatch(state);
    }
  }

  private isLive(state: QueueState): boolean {
    return !this.closed && this.queues.get(state.name) === state;
  }

  private scheduleDispatch(state: QueueState): void {
    if (state.dispatchScheduled) return;
    state.dispatchScheduled = true;
    setImmediate(() => {
      state.dispatchScheduled = false;
      this.dispatch(state);
    });
  }

  /** Hands ready messages to consumers with free prefetch capacity, round-robin. */
  private dispatch(state: QueueState): void {
    if (!this.isLive(state)) return;
    while (state.ready.length > 0) {
      const consumer = nextFreeConsumer(state);
      const message = consumer ? state.ready.shift() : undefined;
      if (!consumer || !message) return;
      this.deliver(state, consumer, message);
    }
  }

  private deliver(state: QueueState, consumer: Consumer, message: StoredMessage): void {
    consumer.inFlight += 1;
    state.unacked += 1;
    const task = this.handle(state, consumer, message).finally(() => {
      consumer.inFlight -= 1;
      state.unacked -= 1;
      consumer.running.delete(task);
      this.scheduleDispatch(state);
    });
    consumer.running.add(task);
  }

  private async handle(state: QueueState, consumer: Consumer, message: StoredMessage): Promise<void> {
    const outcome = await invoke(consumer.handler, toDelivery(message));
    try {
      // Settle first: `onSettled?.(...)` would skip evaluating its argument without a callback.
      const settlement = this.settle(state, message, outcome);
      consumer.onSettled?.(settlement);
    } catch (error) {
      this.logger?.warn({ queue: state.name, messageId: message.messageId, err: error }, 'settling a delivery failed');
    }
  }

  private settle(state: QueueState, message: StoredMessage, outcome: Outcome): Settlement {
    switch (outcome.action) {
      case 'ack':
        return 'ack';
      case 'retry':
        return this.retry(state, message, outcome.reason, outcome.delayMs);
      case 'dead-letter':
        this.deadLetter(state, message, outcome.reason);
        return 'dead-letter';
    }
  }

  /** Requeues after a delay with `attempt + 1`, or dead-letters once the delivery limit is reached. */
  private retry(state: QueueState, message: StoredMessage, reason: string, delayMs: number | undefined): Settlement {
    if (message.attempt >= state.deliveryLimit) {
      this.deadLetter(state, message, `delivery limit ${state.deliveryLimit} reached: ${reason}`);
      return 'dead-letter';
    }
    if (!this.isLive(state)) return 'retry';
    const delay = delayMs ?? this.retryDelay(message.attempt);
    this.logger?.debug(
      { queue: state.name, messageId: message.messageId, attempt: message.attempt, delay, reason },
      'retry',
    );
    state.delayed += 1;
    this.startTimer(() => {
      state.delayed -= 1;
      if (!this.isLive(state)) return;
      state.ready.push({ ...message, attempt: message.attempt + 1 });
      this.scheduleDispatch(state);
    }, delay);
    return 'retry';
  }

  private retryDelay(attempt: number): number {
    return (
      this.retryDelaysMs[attempt - 1] ?? this.retryDelaysMs[this.retryDelaysMs.length - 1] ?? FALLBACK_RETRY_DELAY_MS
    );
  }

  /** Moves the message to the queue's dead-letter queue with the death headers; requests stay unanswered. */
  private deadLetter(state: QueueState, message: StoredMessage, reason: string): void {
    const target = state.deadLetterQueue === undefined ? undefined : this.queues.get(state.deadLetterQueue);
    this.logger?.warn(
      { queue: state.name, messageId: message.messageId, reason, deadLetterQueue: target?.name ?? null },
      target ? 'message dead-lettered' : 'message dead-lettered without a dead-letter queue, dropped',
    );
    if (!target || this.closed) return;
    const headers = {
      ...(JSON.parse(message.headers) as Record<string, unknown>),
      [DEATH_REASON_HEADER]: reason,
      [DEATH_QUEUE_HEADER]: state.name,
    };
    const { reply: _reply, ...rest } = message;
    target.ready.push({ ...rest, headers: JSON.stringify(headers), attempt: 1 });
    this.scheduleDispatch(target);
  }

  /** Stops new deliveries to the consumer, waits for its running handlers, then auto-deletes if due. */
  private async cancel(state: QueueState, consumer: Consumer): Promise<void> {
    state.consumers = state.consumers.filter((other) => other !== consumer);
    await Promise.all(consumer.running);
    if (state.autoDelete && state.consumers.length === 0 && this.queues.get(state.name) === state) {
      this.queues.delete(state.name);
      this.logger?.debug({ queue: state.name }, 'auto-deleted queue');
    }
  }

  private startTimer(callback: () => void, delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, delayMs);
    this.timers.add(timer);
    return timer;
  }
}

/** JSON text of a value, failing like a broker would for what JSON cannot carry. */
function toJson(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError('message body is not JSON-serialisable');
  return text;
}

function storedMessage(exchange: string, routingKey: string, body: unknown, options: PublishOptions): StoredMessage {
  return {
    exchange,
    routingKey,
    messageId: options.messageId ?? randomUUID(),
    body: toJson(body),
    headers: toJson(options.headers ?? {}),
    attempt: 1,
  };
}

function toDelivery(message: StoredMessage): Delivery {
  const delivery: Delivery = {
    body: JSON.parse(message.body) as unknown,
    exchange: message.exchange,
    routingKey: message.routingKey,
    messageId: message.messageId,
    headers: JSON.parse(message.headers) as Record<string, unknown>,
    attempt: message.attempt,
  };
  if (message.reply) delivery.reply = message.reply;
  return delivery;
}

/** Runs a handler: nothing returned acks, a throw asks for a retry with the error's message. */
async function invoke(handler: Handler, delivery: Delivery): Promise<Outcome> {
  try {
    return (await handler(delivery)) ?? ack();
  } catch (error) {
    return retryLater(error instanceof Error ? error.message : String(error));
  }
}

function addBindings(state: QueueState, bindings: BindingSpec[]): void {
  for (const binding of bindings) {
    const known = state.bindings.some((b) => b.exchange === binding.exchange && b.pattern === binding.pattern);
    if (!known) state.bindings.push({ ...binding });
  }
}

function nextFreeConsumer(state: QueueState): Consumer | undefined {
  const count = state.consumers.length;
  for (let offset = 0; offset < count; offset += 1) {
    const index = (state.nextConsumer + offset) % count;
    const consumer = state.consumers[index];
    if (consumer && consumer.inFlight < consumer.prefetch) {
      state.nextConsumer = (index + 1) % count;
      return consumer;
    }
  }
  return undefined;
}

/** Whether a binding pattern matches a routing key on an exchange of the given type. */
export function bindingMatches(type: ExchangeSpec['type'], pattern: string, routingKey: string): boolean {
  switch (type) {
    case 'fanout':
      return true;
    case 'direct':
      return pattern === routingKey;
    case 'topic':
      return topicMatches(pattern.split('.'), routingKey.split('.'));
  }
}

/** AMQP topic matching: `*` is exactly one word, `#` zero or more words. */
function topicMatches(pattern: string[], words: string[]): boolean {
  const [head, ...rest] = pattern;
  if (head === undefined) return words.length === 0;
  if (head === '#') {
    for (let skip = 0; skip <= words.length; skip += 1) {
      if (topicMatches(rest, words.slice(skip))) return true;
    }
    return false;
  }
  const [word, ...remaining] = words;
  if (word === undefined) return false;
  return (head === '*' || head === word) && topicMatches(rest, remaining);
}

async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work.then(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
