import { randomUUID } from 'node:crypto';
import type { BindingSpec, Delivery, Handler, PublishOptions, QueueSpec, Settlement } from '../bus.port';
import { messageJson, toJson } from '../delivery-policy';
import { addBindings } from './in-memory-routing';

/** A message as stored in a queue; body and headers are JSON text, parsed afresh for each delivery. */
export interface StoredMessage {
  exchange: string;
  routingKey: string;
  messageId: string;
  body: string;
  headers: string;
  attempt: number;
  reply?: (body: unknown) => Promise<void>;
  /** When it entered a queue with a `maxAgeMs` (epoch ms): its age there counts from then. */
  enqueuedAt?: number;
}

/**
 * Limits of a queue, as RabbitMQ's `max-length` (oldest dropped first) and `message-ttl` set
 * them; the bus gives them to its dead-letter queues (docs/operations.md, "Retention"). `null`: no limit.
 */
export interface QueueBounds {
  maxLength?: number | null;
  maxAgeMs?: number | null;
}

/** One `subscribe` call: its handler, its prefetch and the deliveries it is working on. */
export interface Consumer {
  handler: Handler;
  onSettled?: (settlement: Settlement) => void;
  prefetch: number;
  inFlight: number;
  running: Set<Promise<void>>;
}

/** A queue: its bindings and limits, ready messages, and counts of those in flight or waiting to be retried. */
export interface QueueState {
  name: string;
  bindings: BindingSpec[];
  deliveryLimit: number;
  autoDelete: boolean;
  deadLetterQueue: string | undefined;
  /** Added to each dead letter (a shared dead-letter queue's record of whose it was). */
  deadLetterHeaders: Record<string, string>;
  bounds: QueueBounds;
  ready: StoredMessage[];
  unacked: number;
  delayed: number;
  consumers: Consumer[];
  nextConsumer: number;
  dispatchScheduled: boolean;
}

/** An empty queue as declared by `spec`; its dead-letter queue defaults to `<name>.dead`. `expiresMs` needs nothing here: the queue dies with the process. */
export function newQueueState(spec: QueueSpec, defaultDeliveryLimit: number, bounds: QueueBounds = {}): QueueState {
  const state: QueueState = {
    name: spec.name,
    bindings: [],
    deliveryLimit: spec.deliveryLimit ?? defaultDeliveryLimit,
    autoDelete: spec.autoDelete ?? false,
    deadLetterQueue:
      spec.sharedDeadLetter?.queue ??
      (spec.deadLetterQueue === false ? undefined : (spec.deadLetterQueue ?? `${spec.name}.dead`)),
    deadLetterHeaders: spec.sharedDeadLetter?.headers ?? {},
    bounds,
    ready: [],
    unacked: 0,
    delayed: 0,
    consumers: [],
    nextConsumer: 0,
    dispatchScheduled: false,
  };
  addBindings(state.bindings, spec.bindings);
  return state;
}

/** A published message as queues keep it: a first attempt, body and headers frozen as JSON. */
export function storedMessage(
  exchange: string,
  routingKey: string,
  body: unknown,
  options: PublishOptions,
): StoredMessage {
  return {
    exchange,
    routingKey,
    messageId: options.messageId ?? randomUUID(),
    body: messageJson(exchange, routingKey, body),
    headers: toJson(options.headers ?? {}),
    attempt: 1,
  };
}

/** Appends a ready message, then drops what the queue's bounds no longer allow. */
export function pushReady(state: QueueState, message: StoredMessage, now: number): void {
  state.ready.push(state.bounds.maxAgeMs ? { ...message, enqueuedAt: now } : message);
  trimToBounds(state, now);
}

/**
 * Drops ready messages older than `maxAgeMs`, then the oldest beyond `maxLength`, as the broker
 * does; messages in flight or waiting for a retry are not counted. Returns how many it dropped.
 */
export function trimToBounds(state: QueueState, now: number): number {
  const { maxAgeMs, maxLength } = state.bounds;
  let dropped = 0;
  while (maxAgeMs && state.ready.length > 0 && now - (state.ready[0]?.enqueuedAt ?? now) >= maxAgeMs) {
    state.ready.shift();
    dropped += 1;
  }
  if (maxLength && state.ready.length > maxLength) {
    dropped += state.ready.splice(0, state.ready.length - maxLength).length;
  }
  return dropped;
}

/** What a handler receives: fresh copies of body and headers. */
export function toDelivery(message: StoredMessage): Delivery {
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

/** The next consumer with free prefetch capacity, round-robin. */
export function nextFreeConsumer(state: QueueState): Consumer | undefined {
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
