import { createHash, randomUUID } from 'node:crypto';
import type { Message } from 'amqplib';
import type { BrokerAsPromised, SubscriptionConfig } from 'rascal';
import { Exchanges } from '@drover/contracts';
import type { Logger } from '@drover/runtime';
import type {
  Bus,
  Handler,
  PublishOptions,
  QueueSpec,
  QueueStats,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  Topology,
} from '../bus.port';
import { DEFAULT_DELIVERY_LIMIT, DEFAULT_PREFETCH, DEFAULT_RETRY_DELAYS_MS, waitAtMost } from '../delivery-policy';
import { INVALID_CONTENT_HEADER } from '../outcomes';
import { CONSUMER_TEMPLATE, deadLetterQueueOf, qualify, queueDeclarations } from './rabbitmq-config';
import { brokerUrls } from './broker-urls';
import { AdminChannel, openBroker } from './rabbitmq-connection';
import { RabbitMqPublisher } from './rabbitmq-publisher';
import { RabbitMqReplies } from './rabbitmq-replies';
import { RabbitMqSettlement, type Consumer, type QueueInfo, type Settle } from './rabbitmq-settlement';

/** Options of `RabbitMqBus.connect`. */
export interface RabbitMqBusOptions {
  /** Receives connection events, retries and dead letters (never bodies). */
  logger?: Logger;
  /** Namespaces every exchange and queue as `<prefix>.<name>` (test isolation); empty in production. */
  prefix?: string;
  /** Delay before the n-th retry (index `attempt - 1`); the last entry repeats. Default `DEFAULT_RETRY_DELAYS_MS`. */
  retryDelaysMs?: number[];
  /** Default prefetch of subscriptions. Default `DEFAULT_PREFETCH`. */
  prefetch?: number;
  /** Name of the broker connection (management UI, `rabbitmqctl`). Default `drover` or `drover:<prefix>`. */
  connectionName?: string;
  /** Publishes awaiting their confirm at once (rascal confirm channels). Default 32. */
  publishChannels?: number;
  /**
   * Declare the topology (exchanges, queues, bindings) at start-up (default), or only check that it is there
   * (passive declarations, which need no `configure` permission): with a broker user per service, only bootstrap
   * may configure the shared topology. Run-time queues (`declareQueue`) and the reply queue are declared either way.
   */
  declareTopology?: boolean;
  /** The publishing service (AMQP `app_id` on every message it sends, as the management UI shows it). */
  appId?: string;
}

/** How long `close` waits for running handlers before shutting the broker down anyway. */
const CLOSE_GRACE_MS = 10_000;
/** AMQP reply code of a missing queue or exchange. */
const NOT_FOUND = 404;

/**
 * The RabbitMQ adapter of the `Bus` port, built on rascal (connection and subscription recovery, confirm-channel
 * pools, recovery strategies) with durable quorum queues. Its parts:
 *
 * - **Connection and topology** (`rabbitmq-connection`): the rascal broker asserts the topology; an admin
 *   connection declares run-time queues and answers checks.
 * - **Publish** (`RabbitMqPublisher`): rascal publication per exchange (confirm channel, persistent, mandatory);
 *   resolves on the confirm. While the connection is down, rascal holds publications until it has reconnected.
 * - **Consuming, retry and dead letters** (`RabbitMqSettlement`): retries republish after a delay, dead letters
 *   are forwarded with their reason, the attempt counts republishes and broker redeliveries. Crash loops never
 *   reach the handler: quorum `x-delivery-limit` makes the broker dead-letter them. If a forward fails rascal nacks
 *   the message and the queue's DLX still routes it to the same dead-letter queue (without a reason).
 * - **Request/reply** (`RabbitMqReplies`).
 * - **Run-time queues** (`declareQueue`): rascal cannot add queues or subscriptions after `create`, so they are
 *   asserted on the admin connection and consumed through rascal's `drover.consumer` subscription with its `source`
 *   overridden; the bus sets `headers.rascal.originalQueue` to the real queue so `republish` targets it.
 *   Subscriptions to them get the same reconnect/resubscribe handling as topology queues.
 */
export class RabbitMqBus implements Bus {
  private readonly queues = new Map<string, QueueInfo>();
  /** Queues declared at run time and not deleted: declared again after a reconnection (see `redeclare`). */
  private readonly declared = new Map<string, QueueSpec>();
  private readonly consumers = new Set<Consumer>();
  private readonly exchanges: Set<string>;
  private readonly defaultPrefetch: number;
  private readonly publisher: RabbitMqPublisher;
  private readonly replies: RabbitMqReplies;
  private readonly settlement: RabbitMqSettlement;
  private readonly admin: AdminChannel;
  private closed = false;

  private constructor(
    private readonly broker: BrokerAsPromised,
    urls: string[],
    private readonly prefix: string,
    private readonly replyQueue: string,
    topology: Topology,
    options: RabbitMqBusOptions,
    private readonly logger: Logger | undefined = options.logger,
  ) {
    this.defaultPrefetch = options.prefetch ?? DEFAULT_PREFETCH;
    this.exchanges = new Set([...topology.exchanges.map((exchange) => exchange.name), Exchanges.dead]);
    for (const spec of topology.queues) this.remember(spec, true);
    for (const shared of topology.sharedDeadLetterQueues ?? []) {
      this.queues.set(shared.name, {
        deliveryLimit: DEFAULT_DELIVERY_LIMIT,
        hasDeadLetterQueue: false,
        inConfig: true,
      });
    }
    this.publisher = new RabbitMqPublisher(broker, logger, () => this.closed, userOf(urls[0]!), options.appId);
    this.replies = new RabbitMqReplies(this.publisher, qualify(prefix, replyQueue), logger);
    this.settlement = new RabbitMqSettlement({
      publisher: this.publisher,
      prefix,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
      userId: userOf(urls[0]!),
      ...(logger ? { logger } : {}),
    });
    this.admin = new AdminChannel(urls, logger);
  }

  /**
   * Connects, asserts the topology and starts the reply consumer. `url` is one broker, or the nodes
   * of one cluster separated by commas (`brokerUrls`): each connection goes to a node that answers.
   */
  static async connect(url: string, topology: Topology, options: RabbitMqBusOptions = {}): Promise<RabbitMqBus> {
    const urls = brokerUrls(url);
    const prefix = options.prefix ?? '';
    const replyQueue = `drover.replies.${randomUUID()}`;
    const broker = await openBroker(
      urls,
      topology,
      prefix,
      {
        replyQueue,
        prefetch: options.prefetch,
        publishChannels: options.publishChannels,
        connectionName: options.connectionName ?? (prefix ? `drover:${prefix}` : 'drover'),
        declareTopology: options.declareTopology ?? true,
      },
      options.logger,
    );
    const bus = new RabbitMqBus(broker, urls, prefix, replyQueue, topology, options);
    broker.on('vhost_initialised', () => void bus.redeclare());
    try {
      await bus.replies.consume(broker);
    } catch (error) {
      await broker.shutdown().catch(() => undefined);
      throw error;
    }
    return bus;
  }

  async publish(exchange: string, routingKey: string, body: unknown, options: PublishOptions = {}): Promise<void> {
    this.assertOpen();
    this.requireExchange(exchange);
    await this.publisher.send(exchange, routingKey, body, {
      messageId: options.messageId ?? randomUUID(),
      headers: { ...options.headers },
      ...(options.correlationId ? { correlationId: options.correlationId } : {}),
      ...(options.type ? { type: options.type } : {}),
    });
  }

  async request<T = unknown>(exchange: string, routingKey: string, body: unknown, options: RequestOptions): Promise<T> {
    this.assertOpen();
    this.requireExchange(exchange);
    return this.replies.request<T>(exchange, routingKey, body, options);
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
      adopt(message, () =>
        info.hasDeadLetterQueue
          ? this.settlement.deadLetter(consumer, message, `invalid content: ${error.message}`, settle as Settle)
          : // Nowhere to dead-letter it (a `.dead` queue): its consumer gets it, marked, rather than nothing.
            this.settlement.handle(
              consumer,
              withHeader(message, INVALID_CONTENT_HEADER, describeContent(error, message.content)),
              null,
              settle as Settle,
            ),
      ),
    );
    session.on('redeliveries_exceeded', (error: Error, message: Message, settle: unknown) =>
      adopt(message, () => this.settlement.deadLetter(consumer, message, error.message, settle as Settle)),
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
        adopt(message, () => this.settlement.handle(consumer, message, content, settle as Settle)),
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
    await this.assertDeclaration(spec);
    this.remember(spec, false);
    this.declared.set(spec.name, spec);
  }

  async deleteQueue(name: string): Promise<void> {
    this.assertOpen();
    this.declared.delete(name);
    await Promise.all([...this.consumers].filter((consumer) => consumer.queue === name).map((c) => this.cancel(c)));
    await this.admin.run((channel) => channel.deleteQueue(qualify(this.prefix, name)));
    if (!this.queues.get(name)?.inConfig) this.queues.delete(name);
  }

  async queueStats(name: string): Promise<QueueStats> {
    this.assertOpen();
    const ok = await this.admin
      .run((channel) => channel.checkQueue(qualify(this.prefix, name)))
      .catch((error: unknown) => {
        if ((error as { code?: unknown }).code === NOT_FOUND) throw new Error(`unknown queue "${name}"`);
        throw error;
      });
    // The broker counts ready messages only; deliveries this bus holds (running or waiting for a delayed retry)
    // are added. Unacknowledged deliveries of other processes are not visible without the management API.
    let unacked = 0;
    for (const consumer of this.consumers) if (consumer.queue === name) unacked += consumer.unacked;
    return { messages: ok.messageCount + unacked, consumers: ok.consumerCount };
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.admin.run((channel) => channel.checkExchange(qualify(this.prefix, Exchanges.dead)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.replies.failAll(new Error('bus closed'));
    await waitAtMost(Promise.all([...this.consumers].map((consumer) => this.cancel(consumer))), CLOSE_GRACE_MS);
    await this.broker.shutdown().catch((error: unknown) => this.logger?.warn({ err: error }, 'rabbitmq shutdown'));
    // The reply queue would expire by itself; removing it now keeps the broker tidy.
    await this.admin
      .run((channel) => channel.deleteQueue(qualify(this.prefix, this.replyQueue)))
      .catch(() => undefined);
    await this.admin.close();
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

  private async assertDeclaration(spec: QueueSpec): Promise<void> {
    await this.admin.run(async (channel) => {
      for (const declaration of queueDeclarations(spec, this.prefix)) {
        await channel.assertQueue(declaration.qualifiedName, declaration.options);
        for (const binding of declaration.bindings) {
          await channel.bindQueue(declaration.qualifiedName, binding.exchange, binding.pattern);
        }
      }
    });
  }

  /**
   * Declares the run-time queues again once rascal has reconnected (rascal asserts only the topology). A queue
   * that expires (`x-expires`) can be gone after an outage longer than its expiry, and its consumer would then
   * resubscribe to nothing for ever; declared again, rascal's next resubscription attempt finds it.
   */
  private async redeclare(): Promise<void> {
    for (const spec of this.declared.values()) {
      if (this.closed) return;
      await this.assertDeclaration(spec).catch((error: unknown) =>
        this.logger?.warn({ queue: spec.name, err: error }, 'declaring a run-time queue again failed'),
      );
    }
  }

  private remember(spec: QueueSpec, inConfig: boolean): void {
    const deadLetterQueue = deadLetterQueueOf(spec);
    this.queues.set(spec.name, {
      deliveryLimit: spec.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT,
      hasDeadLetterQueue: deadLetterQueue !== undefined,
      inConfig,
      ...(spec.sharedDeadLetter?.headers ? { deadLetterHeaders: spec.sharedDeadLetter.headers } : {}),
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

/** Why content is not JSON, its size and a digest that tells two such messages apart (never the content). */
function describeContent(error: Error, content: Buffer): string {
  const digest = createHash('sha256').update(content).digest('hex').slice(0, 16);
  return `${error.message} (${content.length} bytes, sha256 ${digest})`;
}

function withHeader(message: Message, name: string, value: string): Message {
  message.properties.headers = { ...(message.properties.headers ?? {}), [name]: value };
  return message;
}

/** The broker user a connection URL logs in as (amqplib's default is `guest`). */
export function userOf(url: string): string {
  const username = new URL(url).username;
  return username ? decodeURIComponent(username) : 'guest';
}
