import type { Logger } from '@drover/runtime';
import type { Outcome, Settlement } from '../bus.port';
import { invoke, retryDelay, toJson } from '../delivery-policy';
import { DEATH_AT_HEADER, DEATH_QUEUE_HEADER, DEATH_REASON_HEADER } from '../outcomes';
import {
  nextFreeConsumer,
  pushReady,
  toDelivery,
  trimToBounds,
  type Consumer,
  type QueueState,
  type StoredMessage,
} from './in-memory-queue';

/** Timers a bus owns, all cleared when it closes. */
export class Timers {
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Runs `callback` once after `delayMs`, unless cleared first. */
  start(callback: () => void, delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, delayMs);
    this.timers.add(timer);
    return timer;
  }

  /** Cancels one timer. */
  clear(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  /** Cancels every timer (the bus is closing). */
  clearAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/**
 * Consuming and settlement of the in-memory bus: hands ready messages to consumers, then acks,
 * retries after a delay (`attempt + 1`) or dead-letters them with the death headers.
 */
export class InMemoryDispatcher {
  constructor(
    private readonly deps: {
      queues: Map<string, QueueState>;
      timers: Timers;
      retryDelaysMs: readonly number[];
      isClosed: () => boolean;
      /** Epoch milliseconds: the age of messages in bounded queues. */
      now: () => number;
      logger?: Logger;
    },
  ) {}

  /** Whether the queue still exists and the bus is open (a deleted queue drops its messages). */
  isLive(state: QueueState): boolean {
    return !this.deps.isClosed() && this.deps.queues.get(state.name) === state;
  }

  /** Dispatches the queue on the next turn of the event loop (once, however often it is asked). */
  schedule(state: QueueState): void {
    if (state.dispatchScheduled) return;
    state.dispatchScheduled = true;
    setImmediate(() => {
      state.dispatchScheduled = false;
      this.dispatch(state);
    });
  }

  /** Stops new deliveries to the consumer, waits for its running handlers, then auto-deletes if due. */
  async cancel(state: QueueState, consumer: Consumer): Promise<void> {
    state.consumers = state.consumers.filter((other) => other !== consumer);
    await Promise.all(consumer.running);
    if (state.autoDelete && state.consumers.length === 0 && this.deps.queues.get(state.name) === state) {
      this.deps.queues.delete(state.name);
      this.deps.logger?.debug({ queue: state.name }, 'auto-deleted queue');
    }
  }

  /** Hands ready messages to consumers with free prefetch capacity, round-robin. */
  private dispatch(state: QueueState): void {
    if (!this.isLive(state)) return;
    trimToBounds(state, this.deps.now());
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
      this.schedule(state);
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
      this.deps.logger?.warn(
        { queue: state.name, messageId: message.messageId, err: error },
        'settling a delivery failed',
      );
    }
  }

  private settle(state: QueueState, message: StoredMessage, outcome: Outcome): Settlement {
    switch (outcome.action) {
      case 'ack':
        return 'ack';
      case 'retry':
        return this.retry(state, message, outcome.reason, outcome.delayMs, outcome.counted !== false);
      case 'dead-letter':
        this.deadLetter(state, message, outcome.reason);
        return 'dead-letter';
      case 'replace': {
        // At the end of the same queue, with the same id and reply; a first attempt.
        const headers = { ...(JSON.parse(message.headers) as Record<string, unknown>), ...outcome.headers };
        const replacement = { ...message, body: toJson(outcome.body), headers: JSON.stringify(headers), attempt: 1 };
        if (!this.deps.isClosed()) {
          pushReady(state, replacement, this.deps.now());
          this.schedule(state);
        }
        return 'ack';
      }
    }
  }

  /**
   * Requeues after a delay with `attempt + 1`, or dead-letters once the delivery limit is reached.
   * An uncounted retry (`waitFor`) keeps its attempt and never reaches the limit.
   */
  private retry(
    state: QueueState,
    message: StoredMessage,
    reason: string,
    delayMs: number | undefined,
    counted: boolean,
  ): Settlement {
    if (counted && message.attempt >= state.deliveryLimit) {
      this.deadLetter(state, message, `delivery limit ${state.deliveryLimit} reached: ${reason}`);
      return 'dead-letter';
    }
    if (!this.isLive(state)) return 'retry';
    const delay = delayMs ?? retryDelay(this.deps.retryDelaysMs, message.attempt);
    this.deps.logger?.debug(
      { queue: state.name, messageId: message.messageId, attempt: message.attempt, delay, reason },
      'retry',
    );
    state.delayed += 1;
    this.deps.timers.start(() => {
      state.delayed -= 1;
      if (!this.isLive(state)) return;
      state.ready.push({ ...message, attempt: counted ? message.attempt + 1 : message.attempt });
      this.schedule(state);
    }, delay);
    return 'retry';
  }

  /** Moves the message to the queue's dead-letter queue with the death headers; requests stay unanswered. */
  private deadLetter(state: QueueState, message: StoredMessage, reason: string): void {
    const target = state.deadLetterQueue === undefined ? undefined : this.deps.queues.get(state.deadLetterQueue);
    this.deps.logger?.warn(
      { queue: state.name, messageId: message.messageId, reason, deadLetterQueue: target?.name ?? null },
      target ? 'message dead-lettered' : 'message dead-lettered without a dead-letter queue, dropped',
    );
    if (!target || this.deps.isClosed()) return;
    const headers = {
      ...(JSON.parse(message.headers) as Record<string, unknown>),
      ...state.deadLetterHeaders,
      [DEATH_REASON_HEADER]: reason,
      [DEATH_QUEUE_HEADER]: state.name,
      [DEATH_AT_HEADER]: new Date(this.deps.now()).toISOString(),
    };
    const { reply: _reply, ...rest } = message;
    pushReady(target, { ...rest, headers: JSON.stringify(headers), attempt: 1 }, this.deps.now());
    this.schedule(target);
  }
}
