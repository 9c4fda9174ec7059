import { randomUUID } from 'node:crypto';
import type { Message } from 'amqplib';
import type { Recovery, SubscriberSessionAsPromised } from 'rascal';
import { Exchanges } from '@drover/contracts';
import type { Logger } from '@drover/runtime';
import type { Delivery, Handler, Settlement } from '../bus.port';
import { invoke, retryDelay } from '../delivery-policy';
import { DEATH_AT_HEADER, DEATH_QUEUE_HEADER, DEATH_REASON_HEADER, SENDER_HEADER } from '../outcomes';
import { REPLY_PUBLICATION, unqualify } from './rabbitmq-config';
import type { RabbitMqPublisher } from './rabbitmq-publisher';

/** `ackOrNack` with `promisifyAckOrNack`: resolves once the ack, nack or recovery is done. */
export type Settle = (error?: Error, recovery?: Recovery | Recovery[]) => Promise<void>;

/** What the bus knows about a queue: its delivery limit and whether it has a dead-letter queue. */
export interface QueueInfo {
  deliveryLimit: number;
  hasDeadLetterQueue: boolean;
  /** Declared in the topology, so rascal has a subscription of that name. */
  inConfig: boolean;
  /** Added to each dead letter (a shared dead-letter queue's record of whose it was). */
  deadLetterHeaders?: Record<string, string>;
}

/** One `subscribe` call: a rascal subscriber session plus the deliveries its handler is working on. */
export interface Consumer {
  queue: string;
  /** Qualified queue name, also rascal's `originalQueue` header value. */
  source: string;
  info: QueueInfo;
  handler: Handler;
  onSettled?: (settlement: Settlement) => void;
  session: SubscriberSessionAsPromised;
  /** Deliveries received and not yet acked, nacked or recovered (counted by `queueStats`). */
  unacked: number;
  running: Set<Promise<void>>;
  cancelling?: Promise<void>;
}

/** The part of rascal's `rascal` header the bus reads and adjusts. */
interface RascalHeader {
  originalQueue?: string;
  recovery?: Record<string, { republished?: number } | undefined>;
}

/**
 * Consuming and settlement on RabbitMQ (see `RabbitMqBus` for the whole picture):
 * - **Retry**: rascal's `republish` recovery with `defer: delayMs` — the delivery stays unacknowledged during the
 *   delay, then a copy goes to the back of the same queue and the original is acked.
 * - **Attempt**: `1 + republish count` (rascal's `headers.rascal.recovery.<queue>.republished`) `+ broker
 *   redeliveries` (quorum `x-delivery-count`; 1 for a classic queue's `redelivered` flag). Before a republish the
 *   broker count is folded into the republish count, since the copy would otherwise carry a stale header.
 * - **Dead letter**: rascal's `forward` recovery to the `drover.dead` publication with routing key = queue name,
 *   adding the reason and queue headers (a plain nack through the DLX cannot add headers).
 */
export class RabbitMqSettlement {
  constructor(
    private readonly deps: {
      publisher: RabbitMqPublisher;
      prefix: string;
      retryDelaysMs: readonly number[];
      /** This connection's broker user: what a retry or dead letter it republishes carries in `user_id`. */
      userId: string;
      logger?: Logger;
    },
  ) {}

  /** Runs the consumer's handler on one message and settles it as the handler decided. */
  async handle(consumer: Consumer, message: Message, content: unknown, settle: Settle): Promise<void> {
    const headers = rascalHeaders(message, consumer.source);
    const attempt = 1 + republishCount(headers, consumer.source) + brokerRedeliveries(message);
    const delivery = this.toDelivery(message, content, attempt);
    const outcome = await invoke(consumer.handler, delivery);
    switch (outcome.action) {
      case 'ack':
        consumer.onSettled?.('ack');
        return settle();
      case 'dead-letter':
        return this.deadLetter(consumer, message, outcome.reason, settle);
      case 'replace':
        await this.replace(consumer, message, outcome.body, outcome.headers);
        consumer.onSettled?.('ack');
        return settle();
      case 'retry': {
        const limit = consumer.info.deliveryLimit;
        // An uncounted retry (`waitFor`) keeps the attempt it had, so it never reaches the limit.
        const counted = outcome.counted !== false;
        if (counted && attempt >= limit) {
          return this.deadLetter(consumer, message, `delivery limit ${limit} reached: ${outcome.reason}`, settle);
        }
        const delay = outcome.delayMs ?? retryDelay(this.deps.retryDelaysMs, attempt);
        this.deps.logger?.debug(
          { queue: consumer.queue, messageId: delivery.messageId, attempt, delay, reason: outcome.reason },
          'retry',
        );
        // The copy must not carry this delivery's broker count: fold it into rascal's republish count.
        setRepublishCount(headers, consumer.source, counted ? attempt - 1 : attempt - 2);
        delete message.properties.headers?.['x-delivery-count'];
        this.republishAsSelf(message);
        consumer.onSettled?.('retry');
        return settle(new Error(outcome.reason), [
          { strategy: 'republish', defer: delay, attempts: limit - 1 },
          this.deadLetterRecovery(consumer, `delivery limit ${limit} reached: ${outcome.reason}`),
        ]);
      }
    }
  }

  /** Forwards the message to its dead-letter queue with the reason (or drops it when the queue has none). */
  async deadLetter(consumer: Consumer, message: Message, reason: string, settle: Settle): Promise<void> {
    rascalHeaders(message, consumer.source);
    consumer.onSettled?.('dead-letter');
    const messageId = message.properties.messageId as unknown;
    if (!consumer.info.hasDeadLetterQueue) {
      this.deps.logger?.warn(
        { queue: consumer.queue, messageId, reason },
        'message dead-lettered without a queue, dropped',
      );
      return settle();
    }
    this.deps.logger?.warn({ queue: consumer.queue, messageId, reason }, 'message dead-lettered');
    // A dead letter starts afresh: no reply, no broker redelivery count.
    delete message.properties.headers?.['x-delivery-count'];
    message.properties.replyTo = undefined;
    this.republishAsSelf(message);
    return settle(new Error(reason), this.deadLetterRecovery(consumer, reason));
  }

  /**
   * Publishes the replacement to the consumed queue itself (the default exchange), under this connection's user
   * with the original sender in `SENDER_HEADER` (as `republishAsSelf`), keeping the message id and reply address
   * (so a waiting requester hears the replacement's answer). A failed publish throws: the original is then
   * retried like any failed handler, and handled again.
   */
  private async replace(
    consumer: Consumer,
    message: Message,
    body: unknown,
    added: Record<string, unknown> = {},
  ): Promise<void> {
    const {
      rascal: _rascal,
      'x-delivery-count': _count,
      ...kept
    } = (message.properties.headers ?? {}) as Record<string, unknown>;
    const { messageId, replyTo, correlationId } = message.properties as {
      messageId?: string;
      replyTo?: string;
      correlationId?: string;
    };
    await this.deps.publisher.send(REPLY_PUBLICATION, consumer.source, body, {
      persistent: true,
      headers: {
        ...kept,
        ...added,
        [SENDER_HEADER]: senderOf(message, this.deps.userId) ?? '',
        // rascal gives the copy back the exchange and routing key it was first published with.
        rascal: {
          restoreRoutingHeaders: true,
          originalQueue: consumer.source,
          originalExchange: message.fields.exchange,
          originalRoutingKey: message.fields.routingKey,
        },
      },
      ...(messageId ? { messageId } : {}),
      ...(replyTo ? { replyTo } : {}),
      ...(correlationId ? { correlationId } : {}),
    });
  }

  /**
   * A retry or a dead letter is republished by this connection, and RabbitMQ would refuse a copy still carrying
   * the original's `user_id`: the copy carries this connection's user, and the original sender (as `senderOf`
   * read it) in `SENDER_HEADER`, which `senderOf` believes only on a message this same user published.
   */
  private republishAsSelf(message: Message): void {
    const headers = (message.properties.headers ??= {}) as Record<string, unknown>;
    headers[SENDER_HEADER] = senderOf(message, this.deps.userId) ?? '';
    message.properties.userId = this.deps.userId;
  }

  /** rascal `forward` to the dead-letter exchange with the queue name as routing key and the death headers. */
  private deadLetterRecovery(consumer: Consumer, reason: string): Recovery {
    return {
      strategy: 'forward',
      publication: Exchanges.dead,
      options: {
        routingKey: consumer.queue,
        options: {
          headers: {
            ...consumer.info.deadLetterHeaders,
            [DEATH_REASON_HEADER]: reason,
            [DEATH_QUEUE_HEADER]: consumer.queue,
            [DEATH_AT_HEADER]: new Date().toISOString(),
          },
        },
      },
    };
  }

  private toDelivery(message: Message, content: unknown, attempt: number): Delivery {
    const { rascal: _rascal, ...headers } = (message.properties.headers ?? {}) as Record<string, unknown>;
    const messageId = String(message.properties.messageId ?? '');
    const delivery: Delivery = {
      body: content,
      exchange: unqualify(this.deps.prefix, message.fields.exchange),
      routingKey: message.fields.routingKey,
      messageId,
      headers,
      attempt,
    };
    const sender = senderOf(message, this.deps.userId);
    if (sender !== undefined) delivery.sender = sender;
    const replyTo = message.properties.replyTo as unknown;
    if (typeof replyTo === 'string' && replyTo.length > 0) {
      let replied = false;
      delivery.reply = async (body: unknown): Promise<void> => {
        if (replied) return;
        replied = true;
        await this.deps.publisher.send(REPLY_PUBLICATION, replyTo, body, {
          correlationId: messageId,
          messageId: randomUUID(),
        });
      };
    }
    return delivery;
  }
}

/**
 * Who published a message: its `user_id` (RabbitMQ checked it), or, on a copy this consumer's own user
 * republished (a retry), the original sender that copy names; undefined when there is none.
 */
export function senderOf(message: Message, ownUser: string): string | undefined {
  const userId = message.properties.userId as unknown;
  if (typeof userId !== 'string' || userId === '') return undefined;
  const headers: Record<string, unknown> | undefined = message.properties.headers;
  const relayed = headers?.[SENDER_HEADER];
  if (userId === ownUser && typeof relayed === 'string') return relayed === '' ? undefined : relayed;
  return userId;
}

/** The message's `rascal` header, with `originalQueue` set to the queue actually consumed (see `RabbitMqBus`). */
function rascalHeaders(message: Message, source: string): RascalHeader {
  const headers = (message.properties.headers ??= {}) as Record<string, unknown>;
  const rascal = (headers.rascal ??= {}) as RascalHeader;
  rascal.originalQueue = source;
  return rascal;
}

function republishCount(rascal: RascalHeader, source: string): number {
  const count = rascal.recovery?.[source]?.republished;
  return typeof count === 'number' ? count : 0;
}

function setRepublishCount(rascal: RascalHeader, source: string, count: number): void {
  const recovery = (rascal.recovery ??= {});
  recovery[source] = { ...recovery[source], republished: count };
}

/** Redeliveries by the broker: quorum queues count them in `x-delivery-count`; classic ones only flag them. */
function brokerRedeliveries(message: Message): number {
  const headers: Record<string, unknown> | undefined = message.properties.headers;
  const count = headers?.['x-delivery-count'];
  if (typeof count === 'number') return count;
  return message.fields.redelivered ? 1 : 0;
}
