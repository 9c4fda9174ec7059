import { randomUUID } from 'node:crypto';
import { connect as amqpConnect, type Channel, type ChannelModel, type Message, type Options } from 'amqplib';
import {
  BrokerAsPromised,
  type BrokerConfig,
  type Recovery,
  type SubscriberSessionAsPromised,
  type SubscriptionConfig,
  withDefaultConfig,
} from 'rascal';
import { Exchanges } from '@drover/contracts';
import type { Logger } from '@drover/runtime';
import {
  type Bus,
  type Delivery,
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
import {
  CONSUMER_TEMPLATE,
  deadLetterQueueOf,
  DEFAULT_DELIVERY_LIMIT,
  DEFAULT_PREFETCH,
  qualify,
  queueDeclarations,
  REPLY_PUBLICATION,
  REPLY_SUBSCRIPTION,
  toRascalConfig,
  unqualify,
} from './rabbitmq-config';

/** Options of `RabbitMqBus.connect`. */
export interface RabbitMqBusOptions {
  /** Receives connection events, retries and dead letters (never bodies). */
  logger?: Logger;
  /** Namespaces every exchange and queue as `<prefix>.<name>` (test isolation); empty in production. */
  prefix?: string;
  /** Delay before the n-th retry (index `attempt - 1`); the last entry repeats. Default `[1000, 5000, 15000]`. */
  retryDelaysMs?: number[];
  /** Default prefetch of subscriptions. Default 10. */
  prefetch?: number;
  /** Name of the broker connection (management UI, `rabbitmqctl`). Default `drover` or `drover:<prefix>`. */
  connectionName?: string;
  /** Publishes awaiting their confirm at once (rascal confirm channels). Default 32. */
  publishChannels?: number;
}

const DEFAULT_RETRY_DELAYS_MS = [1000, 5000, 15_000];
const FALLBACK_RETRY_DELAY_MS = 1000;
/** How long `close` waits for running handlers before shutting the broker down anyway. */
const CLOSE_GRACE_MS = 10_000;
/** Sends of one message before `publish` gives up (see `send`). */
const PUBLISH_ATTEMPTS = 3;
const PUBLISH_RETRY_DELAY_MS = 200;
/** AMQP reply code of a missing queue or exchange. */
const NOT_FOUND = 404;

/** `ackOrNack` with `promisifyAckOrNack`: resolves once the ack, nack or recovery is done. */
type Settle = (error?: Error, recovery?: Recovery | Recovery[]) => Promise<void>;

/** What the bus knows about a queue: its delivery limit and whether it has a dead-letter queue. */
interface QueueInfo {
  deliveryLimit: number;
  hasDeadLetterQueue: boolean;
  /** Declared in the topology, so rascal has a subscription of that name. */
  inConfig: boolean;
}

/** One `subscribe` call: a rascal subscriber session plus the deliveries its handler is working on. */
interface Consumer {
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

/** The lazily opened amqplib connection for declarations and checks, and its channel. */
interface AdminConnection {
  connection: Promise<ChannelModel>;
  channel?: Promise<Channel>;
}

interface PendingRequest {
  fail: (error: Error) => void;
  answer: (body: unknown) => void;
}

/** The part of rascal's `rascal` header the bus reads and adjusts. */
interface RascalHeader {
  originalQueue?: string;
  recovery?: Record<string, { republished?: number } | undefined>;
}

/**
 * The RabbitMQ adapter of the `Bus` port, built on rascal (connection and subscription recovery, confirm-channel
 * pools, recovery strategies) with durable quorum queues.
 *
 * - **Publish**: rascal publication per exchange (confirm channel, persistent, mandatory); resolves on the confirm.
 *   While the connection is down, rascal holds publications until it has reconnected.
 * - **Retry** (`retryLater` or a throwing handler): rascal's `republish` recovery with `defer: delayMs` — the
 *   delivery stays unacknowledged during the delay (it keeps its prefetch slot and is redelivered by the broker
 *   if the process dies), then a copy goes to the back of the same queue and the original is acked.
 * - **Attempt**: `1 + republish count` (rascal's `headers.rascal.recovery.<queue>.republished`) `+ broker
 *   redeliveries` (quorum `x-delivery-count`; 1 for a classic queue's `redelivered` flag). Before a republish the
 *   broker count is folded into the republish count, since the copy would otherwise carry a stale header.
 * - **Dead letter** (`deadLetter`, a retry at the delivery limit, unparseable JSON): rascal's `forward` recovery
 *   to the `drover.dead` publication with routing key = queue name, adding the reason and queue headers (a plain
 *   nack through the DLX cannot add headers). The original is acked after the forward is confirmed; if the forward
 *   fails rascal nacks it and the queue's DLX still routes it to the same dead-letter queue (without a reason).
 *   Crash loops never reach the handler: quorum `x-delivery-limit` makes the broker dead-letter them.
 * - **Request/reply**: an expiring reply queue per bus instance (rascal subscription), `replyTo` + `correlationId`
 *   (= messageId); a `return` of the mandatory request is an `UnroutableError`.
 * - **Run-time queues** (`declareQueue`): rascal cannot add queues or subscriptions after `create`, so they are
 *   asserted on a small admin connection (amqplib) and consumed through rascal's `drover.consumer` subscription
 *   with its `source` overridden; the bus sets `headers.rascal.originalQueue` to the real queue so `republish`
 *   targets it. Subscriptions to them get the same reconnect/resubscribe handling as topology queues.
 */
export class RabbitMqBus implements Bus {
  private readonly queues = new Map<string, QueueInfo>();
  private readonly consumers = new Set<Consumer>();
  private readonly pending = new Map<string, PendingRequest>();
  private readonly exchanges: Set<string>;
  private readonly retryDelaysMs: number[];
  private readonly defaultPrefetch: number;
  private admin: AdminConnection | undefined;
  private closed = false;

  private constructor(
    private readonly broker: BrokerAsPromised,
    private readonly url: string,
    private readonly prefix: string,
    private readonly replyQueue: string,
    topology: Topology,
    options: RabbitMqBusOptions,
    private readonly logger: Logger | undefined = options.logger,
  ) {
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.defaultPrefetch = options.prefetch ?? DEFAULT_PREFETCH;
    this.exchanges = new Set([...topology.exchanges.map((exchange) => exchange.name), Exchanges.dead]);
    for (const spec of topology.queues) this.remember(spec, true);
  }

  /** Connects, asserts the topology and starts the reply consumer. */
  static async connect(url: string, topology: Topology, options: RabbitMqBusOptions = {}): Promise<RabbitMqBus> {
    const prefix = options.prefix ?? '';
    const replyQueue = `drover.replies.${randomUUID()}`;
    const definitions = toRascalConfig(url, topology, prefix, {
      replyQueue,
      prefetch: options.prefetch,
      publishChannels: options.publishChannels,
      connectionName: options.connectionName ?? (prefix ? `drover:${prefix}` : 'drover'),
    });
    // promisifyAckOrNack: ackOrNack returns a promise that settles once the ack or recovery is done.
    for (const subscription of Object.values(definitions.vhosts['/']?.subscriptions ?? {})) {
      Object.assign(subscription, { promisifyAckOrNack: true });
    }
    const broker = await BrokerAsPromised.create(withDefaultConfig(definitions as unknown as BrokerConfig)).catch(
      async (error: unknown) => {
        // A failed create still hands out its half-made broker (its keep-alive timer would hold the process open).
        const key = (error as { broker?: unknown }).broker;
        const half = typeof key === 'symbol' ? (error as Record<symbol, BrokerAsPromised | undefined>)[key] : undefined;
        if (typeof half?.shutdown === 'function') await half.shutdown().catch(() => undefined);
        throw error;
      },
    );
    const bus = new RabbitMqBus(broker, url, prefix, replyQueue, topology, options);
    bus.watchBroker();
    try {
      await bus.consumeReplies();
    } catch (error) {
      await broker.shutdown().catch(() => undefined);
      throw error;
    }
    return bus;
  }

  async publish(exchange: string, routingKey: string, body: unknown, options: PublishOptions = {}): Promise<void> {
    this.assertOpen();
    this.requireExchange(exchange);
    await this.send(exchange, routingKey, body, {
      messageId: options.messageId ?? randomUUID(),
      headers: { ...options.headers },
    });
  }

  async request<T = unknown>(exchange: string, routingKey: string, body: unknown, options: RequestOptions): Promise<T> {
    this.assertOpen();
    this.requireExchange(exchange);
    const messageId = options.messageId ?? randomUUID();
    return new Promise<T>((resolve, reject) => {
      const finish = (settle: () => void): void => {
        if (this.pending.get(messageId) !== pending) return;
        this.pending.delete(messageId);
        clearTimeout(timer);
        settle();
      };
      const pending: PendingRequest = {
        fail: (error) => finish(() => reject(error)),
        answer: (answer) => finish(() => resolve(answer as T)),
      };
      const timer = setTimeout(
        () => pending.fail(new RequestTimeoutError(exchange, routingKey, options.timeoutMs)),
        options.timeoutMs,
      );
      this.pending.set(messageId, pending);
      this.send(
        exchange,
        routingKey,
        body,
        {
          messageId,
          correlationId: messageId,
          replyTo: qualify(this.prefix, this.replyQueue),
          headers: { ...options.headers },
        },
        () => pending.fail(new UnroutableError(exchange, routingKey)),
      ).catch((error: unknown) => pending.fail(toError(error)));
    });
  }

  async subscribe(queue: string, handler: Handler, options: SubscribeOptions = {}): Promise<Subscription> {
    this.assertOpen();
    const prefetch = options.prefetch ?? this.defaultPrefetch;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new RangeError(`prefetch must be a positive integer`);
    await this.queueStats(queue);
    const info = this.queues.get(queue) ?? {
      deliveryLimit: DEFAULT_DELIVERY_LIMIT,
      hasDeadLetterQueue: true,
      inConfig: false,
    };
    const source = qualify(this.prefix, queue);
    const overrides = { prefetch, queue: source, source } as SubscriptionConfig;
    const session = await this.broker.subscribe(info.inConfig ? queue : CONSUMER_TEMPLATE, overrides);
    const consumer: Consumer = {
      queue,
      source,
      info,
      handler,
      onSettled: options.onSettled,
      session,
      unacked: 0,
      running: new Set(),
    };
    this.consumers.add(consumer);
    const adopt = (message: Message, work: () => Promise<void>): void => {
      consumer.unacked += 1;
      const task = work()
        .catch((error: unknown) =>
          this.logger?.warn(
            { queue, messageId: message.properties.messageId as unknown, err: error },
            'settling failed (the broker redelivers the message)',
          ),
        )
        .finally(() => {
          consumer.unacked -= 1;
          consumer.running.delete(task);
        });
      consumer.running.add(task);
    };
    session.on('error', (error: Error) => this.logger?.warn({ queue, err: error }, 'rabbitmq subscription error'));
    session.on('cancelled', (error: Error) =>
      this.logger?.warn({ queue, err: error }, 'rabbitmq consumer cancelled by the broker'),
    );
    session.on('invalid_content', (error: Error, message: Message, settle: unknown) =>
      adopt(message, () => this.deadLetter(consumer, message, `invalid content: ${error.message}`, settle as Settle)),
    );
    session.on('redeliveries_exceeded', (error: Error, message: Message, settle: unknown) =>
      adopt(message, () => this.deadLetter(consumer, message, error.message, settle as Settle)),
    );
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        session.removeListener('subscribed', onSubscribed);
        reject(error);
      };
      const onSubscribed = (): void => {
        session.removeListener('error', onError);
        resolve();
      };
      session.once('error', onError);
      session.once('subscribed', onSubscribed);
      // Adding the 'message' listener starts rascal's consumer.
      session.on('message', (message: Message, content: unknown, settle: unknown) =>
        adopt(message, () => this.handle(consumer, message, content, settle as Settle)),
      );
    }).catch(async (error: unknown) => {
      this.consumers.delete(consumer);
      await session.cancel().catch(() => undefined);
      throw error;
    });
    this.logger?.debug({ queue, prefetch }, 'subscribed');
    return { cancel: () => this.cancel(consumer) };
  }

  async declareQueue(spec: QueueSpec): Promise<void> {
    this.assertOpen();
    for (const binding of spec.bindings) this.requireExchange(binding.exchange);
    await this.withAdmin(async (channel) => {
      for (const declaration of queueDeclarations(spec, this.prefix)) {
        await channel.assertQueue(declaration.qualifiedName, declaration.options);
        for (const binding of declaration.bindings) {
          await channel.bindQueue(declaration.qualifiedName, binding.exchange, binding.pattern);
        }
      }
    });
    this.remember(spec, false);
  }

  async deleteQueue(name: string): Promise<void> {
    this.assertOpen();
    await Promise.all([...this.consumers].filter((consumer) => consumer.queue === name).map((c) => this.cancel(c)));
    await this.withAdmin((channel) => channel.deleteQueue(qualify(this.prefix, name)));
    if (!this.queues.get(name)?.inConfig) this.queues.delete(name);
  }

  async queueStats(name: string): Promise<QueueStats> {
    this.assertOpen();
    const ok = await this.withAdmin((channel) => channel.checkQueue(qualify(this.prefix, name))).catch(
      (error: unknown) => {
        if ((error as { code?: unknown }).code === NOT_FOUND) throw new Error(`unknown queue "${name}"`);
        throw error;
      },
    );
    // The broker counts ready messages only; deliveries this bus holds (running or waiting for a delayed retry)
    // are added. Unacknowledged deliveries of other processes are not visible without the management API.
    let unacked = 0;
    for (const consumer of this.consumers) if (consumer.queue === name) unacked += consumer.unacked;
    return { messages: ok.messageCount + unacked, consumers: ok.consumerCount };
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.withAdmin((channel) => channel.checkExchange(qualify(this.prefix, Exchanges.dead)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pending of [...this.pending.values()]) pending.fail(new Error('bus closed'));
    await waitAtMost(Promise.all([...this.consumers].map((consumer) => this.cancel(consumer))), CLOSE_GRACE_MS);
    await this.broker.shutdown().catch((error: unknown) => this.logger?.warn({ err: error }, 'rabbitmq shutdown'));
    // The reply queue would expire by itself; removing it now keeps the broker tidy.
    await this.withAdmin((channel) => channel.deleteQueue(qualify(this.prefix, this.replyQueue))).catch(
      () => undefined,
    );
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await (await admin.connection.catch(() => undefined))?.close().catch(() => undefined);
  }

  // ---- consuming -------------------------------------------------------------------------------------------

  private async handle(consumer: Consumer, message: Message, content: unknown, settle: Settle): Promise<void> {
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
      case 'retry': {
        const limit = consumer.info.deliveryLimit;
        if (attempt >= limit) {
          return this.deadLetter(consumer, message, `delivery limit ${limit} reached: ${outcome.reason}`, settle);
        }
        const delay = outcome.delayMs ?? this.retryDelay(attempt);
        this.logger?.debug(
          { queue: consumer.queue, messageId: delivery.messageId, attempt, delay, reason: outcome.reason },
          'retry',
        );
        // The copy must not carry this delivery's broker count: fold it into rascal's republish count.
        setRepublishCount(headers, consumer.source, attempt - 1);
        delete message.properties.headers?.['x-delivery-count'];
        consumer.onSettled?.('retry');
        return settle(new Error(outcome.reason), [
          { strategy: 'republish', defer: delay, attempts: limit - 1 },
          this.deadLetterRecovery(consumer, `delivery limit ${limit} reached: ${outcome.reason}`),
        ]);
      }
    }
  }

  private async deadLetter(consumer: Consumer, message: Message, reason: string, settle: Settle): Promise<void> {
    rascalHeaders(message, consumer.source);
    consumer.onSettled?.('dead-letter');
    const messageId = message.properties.messageId as unknown;
    if (!consumer.info.hasDeadLetterQueue) {
      this.logger?.warn({ queue: consumer.queue, messageId, reason }, 'message dead-lettered without a queue, dropped');
      return settle();
    }
    this.logger?.warn({ queue: consumer.queue, messageId, reason }, 'message dead-lettered');
    // A dead letter starts afresh: no reply, no broker redelivery count.
    delete message.properties.headers?.['x-delivery-count'];
    message.properties.replyTo = undefined;
    return settle(new Error(reason), this.deadLetterRecovery(consumer, reason));
  }

  /** rascal `forward` to the dead-letter exchange with the queue name as routing key and the death headers. */
  private deadLetterRecovery(consumer: Consumer, reason: string): Recovery {
    return {
      strategy: 'forward',
      publication: Exchanges.dead,
      options: {
        routingKey: consumer.queue,
        options: { headers: { [DEATH_REASON_HEADER]: reason, [DEATH_QUEUE_HEADER]: consumer.queue } },
      },
    };
  }

  private toDelivery(message: Message, content: unknown, attempt: number): Delivery {
    const { rascal: _rascal, ...headers } = (message.properties.headers ?? {}) as Record<string, unknown>;
    const messageId = String(message.properties.messageId ?? '');
    const delivery: Delivery = {
      body: content,
      exchange: unqualify(this.prefix, message.fields.exchange),
      routingKey: message.fields.routingKey,
      messageId,
      headers,
      attempt,
    };
    const replyTo = message.properties.replyTo as unknown;
    if (typeof replyTo === 'string' && replyTo.length > 0) {
      let replied = false;
      delivery.reply = async (body: unknown): Promise<void> => {
        if (replied) return;
        replied = true;
        await this.send(REPLY_PUBLICATION, replyTo, body, { correlationId: messageId, messageId: randomUUID() });
      };
    }
    return delivery;
  }

  private async cancel(consumer: Consumer): Promise<void> {
    consumer.cancelling ??= (async () => {
      // rascal stops the consumer, then waits for unacknowledged deliveries (bounded by its closeTimeout).
      await consumer.session
        .cancel()
        .catch((error: unknown) => this.logger?.warn({ queue: consumer.queue, err: error }, 'cancel failed'));
      await Promise.all(consumer.running);
      this.consumers.delete(consumer);
    })();
    return consumer.cancelling;
  }

  private retryDelay(attempt: number): number {
    return (
      this.retryDelaysMs[attempt - 1] ?? this.retryDelaysMs[this.retryDelaysMs.length - 1] ?? FALLBACK_RETRY_DELAY_MS
    );
  }

  // ---- replies ---------------------------------------------------------------------------------------------

  private async consumeReplies(): Promise<void> {
    const session = await this.broker.subscribe(REPLY_SUBSCRIPTION);
    session.on('error', (error: Error) => this.logger?.warn({ err: error }, 'rabbitmq reply subscription error'));
    session.on('invalid_content', (_error: Error, _message: Message, settle: unknown) => {
      (settle as Settle)().catch(() => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      session.once('subscribed', () => resolve());
      session.once('error', reject);
      session.on('message', (message: Message, content: unknown, settle: unknown) => {
        const correlationId = message.properties.correlationId as unknown;
        if (typeof correlationId === 'string') this.pending.get(correlationId)?.answer(content);
        (settle as Settle)().catch((error: unknown) => this.logger?.debug({ err: error }, 'reply ack failed'));
      });
    });
  }

  // ---- publishing ------------------------------------------------------------------------------------------

  /**
   * Publishes through a rascal publication and resolves on the broker's confirm; `onReturn` sees a return.
   * A publish that fails before its confirm (typically: the connection dropped under it) is sent again, up to
   * `PUBLISH_ATTEMPTS` times — at-least-once, so a consumer may see a duplicate. While the connection is down rascal
   * holds the publish until it has reconnected.
   */
  private async send(
    publication: string,
    routingKey: string,
    body: unknown,
    options: Options.Publish,
    onReturn?: () => void,
  ): Promise<void> {
    const content = Buffer.from(toJson(body));
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.sendOnce(publication, routingKey, content, options, onReturn);
        return;
      } catch (error) {
        if (attempt >= PUBLISH_ATTEMPTS || this.closed) throw error;
        this.logger?.warn(
          { publication, routingKey, messageId: options.messageId, attempt, err: error },
          'publish not confirmed, sending again',
        );
        await sleep(PUBLISH_RETRY_DELAY_MS * attempt);
      }
    }
  }

  private async sendOnce(
    publication: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
    onReturn?: () => void,
  ): Promise<void> {
    const session = await this.broker.publish(publication, content, { routingKey, options });
    await new Promise<void>((resolve, reject) => {
      session.on('success', () => resolve());
      session.on('error', (error: Error) => reject(error));
      session.on('return', () => {
        this.logger?.debug({ publication, routingKey, messageId: options.messageId }, 'message routed to no queue');
        onReturn?.();
      });
    });
  }

  // ---- administration --------------------------------------------------------------------------------------

  /**
   * Runs `work` on the admin channel (declarations, deletions, checks). The channel is dropped after any failure
   * (the broker closes a channel on e.g. a 404) and the connection when it closes; both reopen on next use.
   */
  private async withAdmin<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const admin = (this.admin ??= this.openAdmin());
    const channel = (admin.channel ??= admin.connection.then(async (connection) => {
      const created = await connection.createChannel();
      created.on('error', (error: Error) => this.logger?.debug({ err: error }, 'rabbitmq admin channel error'));
      created.on('close', () => {
        if (admin.channel === channel) admin.channel = undefined;
      });
      return created;
    }));
    try {
      return await work(await channel);
    } catch (error) {
      if (admin.channel === channel) admin.channel = undefined;
      throw error;
    }
  }

  private openAdmin(): AdminConnection {
    const admin: AdminConnection = {
      connection: amqpConnect(this.url).then((connection) => {
        connection.on('error', (error: Error) => this.logger?.debug({ err: error }, 'rabbitmq admin connection error'));
        connection.on('close', () => {
          if (this.admin === admin) this.admin = undefined;
        });
        return connection;
      }),
    };
    admin.connection.catch(() => {
      if (this.admin === admin) this.admin = undefined;
    });
    return admin;
  }

  // ---- bookkeeping -----------------------------------------------------------------------------------------

  private watchBroker(): void {
    this.broker.on('error', (error: Error) => this.logger?.warn({ err: error }, 'rabbitmq connection error'));
    this.broker.on('disconnect', () => this.logger?.warn('rabbitmq disconnected, reconnecting'));
    this.broker.on('vhost_initialised', () => this.logger?.info('rabbitmq connected'));
    this.broker.on('blocked', (reason: string) => this.logger?.warn({ reason }, 'rabbitmq connection blocked'));
    this.broker.on('unblocked', () => this.logger?.info('rabbitmq connection unblocked'));
  }

  private remember(spec: QueueSpec, inConfig: boolean): void {
    const deadLetterQueue = deadLetterQueueOf(spec);
    this.queues.set(spec.name, {
      deliveryLimit: spec.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT,
      hasDeadLetterQueue: deadLetterQueue !== undefined,
      inConfig,
    });
    if (deadLetterQueue !== undefined && !this.queues.has(deadLetterQueue)) {
      this.queues.set(deadLetterQueue, { deliveryLimit: DEFAULT_DELIVERY_LIMIT, hasDeadLetterQueue: false, inConfig });
    }
  }

  private requireExchange(name: string): void {
    if (!this.exchanges.has(name)) throw new Error(`unknown exchange "${name}"`);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('bus closed');
  }
}

/** The message's `rascal` header, with `originalQueue` set to the queue actually consumed (see class comment). */
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

/** Runs a handler: nothing returned acks, a throw asks for a retry with the error's message. */
async function invoke(handler: Handler, delivery: Delivery): Promise<Outcome> {
  try {
    return (await handler(delivery)) ?? ack();
  } catch (error) {
    return retryLater(error instanceof Error ? error.message : String(error));
  }
}

/** JSON text of a value, refusing what JSON cannot carry. */
function toJson(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError('message body is not JSON-serialisable');
  return text;
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
