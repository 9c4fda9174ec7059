import type { BusRole } from '@drover/contracts';

/** A message as a consumer sees it. `body` is the parsed JSON; validation is the handler's job. */
export interface Delivery {
  body: unknown;
  exchange: string;
  routingKey: string;
  messageId: string;
  headers: Record<string, unknown>;
  /** 1 on first delivery, +1 on each retry. */
  attempt: number;
  /** Present when the publisher used `request`; answers it (at most once). */
  reply?: (body: unknown) => Promise<void>;
  /**
   * The broker user that published the message: its AMQP `user_id`, which RabbitMQ checks against
   * the publishing connection's user (a retry keeps the original's). Undefined on the in-memory bus.
   */
  sender?: string;
  /**
   * The sender's role, set only when the bus tells senders apart (`SenderGuardBus`, configured by
   * `DROVER_BUS_USERS`); a delivery whose sender has no role allowed on its queue never reaches the handler.
   */
  senderRole?: BusRole;
}

/** What a handler decides about a delivery. Build them with `ack()`, `retryLater()`, `deadLetter()`. */
export type Outcome =
  | { action: 'ack' }
  /**
   * `counted: false` (see `waitFor`): the handler could not run because something it needs is
   * down, not because of the message; the retry does not count toward the delivery limit.
   */
  | { action: 'retry'; reason: string; delayMs?: number; counted?: false }
  | { action: 'dead-letter'; reason: string }
  /**
   * The delivery is put back at the end of its queue with this body (and these headers added),
   * keeping its message id, its sender and its reply address, and the original is acknowledged:
   * how the engine swaps a start sent with secrets in clear for its sealed copy. Settles as `ack`.
   */
  | { action: 'replace'; body: unknown; headers?: Record<string, unknown> };

/** Returning nothing acks; throwing is `retryLater(error.message)`. */
export type Handler = (delivery: Delivery) => Promise<Outcome | void>;

export interface PublishOptions {
  messageId?: string;
  headers?: Record<string, unknown>;
  /**
   * What the message belongs to (the API request behind a command, and everything it caused); the
   * RabbitMQ adapter sends it as the AMQP `correlation_id`. Default: the body's `correlationId`.
   */
  correlationId?: string;
  /** The message's type (AMQP `type`). Default: the body's `type`, `query` or `op`, else the routing key. */
  type?: string;
}

/** How a delivery was finally settled: what the handler decided, after the adapter's own checks. */
export type Settlement = Exclude<Outcome['action'], 'replace'>;

export interface SubscribeOptions {
  /** Unacknowledged deliveries in flight for this consumer. */
  prefetch?: number;
  /**
   * Called once per delivery with its settlement. A retry past the delivery limit and content that
   * is not JSON (which never reaches the handler) report `dead-letter`.
   */
  onSettled?: (settlement: Settlement) => void;
}

export interface Subscription {
  cancel(): Promise<void>;
}

export interface RequestOptions extends PublishOptions {
  timeoutMs: number;
}

export class RequestTimeoutError extends Error {
  constructor(exchange: string, routingKey: string, timeoutMs: number) {
    super(`no reply to ${exchange}/${routingKey} within ${timeoutMs} ms`);
    this.name = 'RequestTimeoutError';
  }
}

export class UnroutableError extends Error {
  constructor(exchange: string, routingKey: string) {
    super(`no queue bound to ${exchange} for ${routingKey}`);
    this.name = 'UnroutableError';
  }
}

/**
 * Thrown by `publish` and `request` (and a reply) for a body larger than `MAX_MESSAGE_BYTES` as
 * JSON: refused before it is sent, where RabbitMQ would close the channel over it.
 */
export class MessageTooLargeError extends Error {
  constructor(
    exchange: string,
    routingKey: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`message to ${exchange}/${routingKey} is ${bytes} bytes, more than the bus carries (${maxBytes})`);
    this.name = 'MessageTooLargeError';
  }
}

/** Depth and consumer count of one queue. */
export interface QueueStats {
  /** Ready plus unacknowledged (in flight or waiting for a delayed retry). */
  messages: number;
  consumers: number;
}

/** The message bus port; adapters: in-memory (embedded) and RabbitMQ. */
export interface Bus {
  /** Resolves once the broker has taken responsibility for the message (publisher confirm). */
  publish(exchange: string, routingKey: string, body: unknown, options?: PublishOptions): Promise<void>;
  /** Consumes a queue declared in the topology (or with `declareQueue`). */
  subscribe(queue: string, handler: Handler, options?: SubscribeOptions): Promise<Subscription>;
  /** Publishes and waits for the consumer's `reply`; rejects with RequestTimeoutError. */
  request<T = unknown>(exchange: string, routingKey: string, body: unknown, options: RequestOptions): Promise<T>;
  /** Declares a queue at run time (per-instance and per-stream queues). */
  declareQueue(spec: QueueSpec): Promise<void>;
  deleteQueue(name: string): Promise<void>;
  /** Current depth and consumers of a queue; rejects for an unknown queue. */
  queueStats(name: string): Promise<QueueStats>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const BUS = Symbol('Bus');

export interface ExchangeSpec {
  name: string;
  type: 'topic' | 'direct' | 'fanout';
}

export interface BindingSpec {
  exchange: string;
  /** Topic patterns use `*` (one word) and `#` (zero or more words). */
  pattern: string;
}

export interface QueueSpec {
  name: string;
  bindings: BindingSpec[];
  /** Deliveries after which a failing message is dead-lettered (quorum queue delivery limit). */
  deliveryLimit?: number;
  /** Removed when its last consumer goes (per-stream queues). */
  autoDelete?: boolean;
  /**
   * Removed by the broker once it has had no consumer for this long (RabbitMQ `x-expires`): the queue of one
   * process instance, which outlives a reconnection but not the instance. Such a queue is a classic one (see
   * `queueDeclarations`); the in-memory bus ignores it (its queues die with the process).
   */
  expiresMs?: number;
  /** Where dead letters go; defaults to `<name>.dead`, declared with the queue. `false` for none. */
  deadLetterQueue?: string | false;
  /**
   * Dead letters go to this shared dead-letter queue of the topology (`Topology.sharedDeadLetterQueues`, whose
   * pattern matches this queue's name) instead of a queue of their own, with `headers` added to each (e.g. the
   * instance the queue belonged to), so queues that come and go leave no dead-letter queue behind.
   */
  sharedDeadLetter?: { queue: string; headers?: Record<string, string> };
}

/** A dead-letter queue shared by the run-time queues whose names match `pattern` (topic syntax). */
export interface SharedDeadLetterQueueSpec {
  name: string;
  pattern: string;
}

export interface Topology {
  exchanges: ExchangeSpec[];
  queues: QueueSpec[];
  sharedDeadLetterQueues?: SharedDeadLetterQueueSpec[];
}
