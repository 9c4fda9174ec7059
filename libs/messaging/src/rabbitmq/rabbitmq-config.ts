import { Exchanges } from '@drover/contracts';
import type { ExchangeSpec, QueueSpec, SharedDeadLetterQueueSpec, Topology } from '../bus.port';
import { DEFAULT_DELIVERY_LIMIT, DEFAULT_PREFETCH } from '../delivery-policy';

/**
 * Rendering of the DROVER topology into a rascal broker definition (pure: no broker needed, unit-tested).
 *
 * Conventions (shared with the runtime `declareQueue` of `RabbitMqBus`, which uses `queueDeclaration`):
 * - every exchange and queue name is namespaced as `<prefix>.<name>` when a prefix is given (tests);
 * - exchanges are durable; queues are durable quorum queues with `x-delivery-limit` (the broker dead-letters a
 *   message redelivered that often, e.g. one that keeps crashing its consumer) — except `autoDelete` queues, which
 *   quorum queues do not support, and queues of one instance (`expiresMs`, e.g. `session-agent.<id>`): those are
 *   durable classic queues and rely on the bus's attempt check only. An instance's queue has one consumer and is
 *   worthless once the instance is gone, so a Raft group per instance (a quorum queue) would buy nothing and cost
 *   a replicated log created and torn down per instance; durable, so a broker restart does not delete it under
 *   a live instance (a non-durable queue would be gone when its consumer resubscribes); `x-expires` removes it
 *   once the instance has stopped consuming;
 * - every queue `q` with a dead-letter queue gets `x-dead-letter-exchange = drover.dead` and
 *   `x-dead-letter-routing-key = q`; its dead-letter queue (default `q.dead`) is bound to `drover.dead` with the
 *   pattern `q`. The bus dead-letters with rascal's `forward` recovery to that same exchange and key (adding the
 *   reason headers), so broker dead letters and bus dead letters land in the same queue. A queue with a
 *   `sharedDeadLetter` declares no dead-letter queue: the topology's shared one is bound with a pattern matching
 *   its name, and the bus adds the spec's headers (e.g. `x-drover-instance`) to its dead letters;
 * - publications (one per exchange, named by the unprefixed exchange name) use confirm channels, persistent
 *   messages and `mandatory` (returns reveal unroutable requests);
 * - subscriptions (one per queue, named by the unprefixed queue name) ack manually with a bounded prefetch, parse
 *   bodies as JSON, and resubscribe with backoff after channel or connection loss.
 */

/** The rascal vhost key; the real vhost comes from the connection URL. */
export const RASCAL_VHOST = '/';
/** Publication sending replies through the default exchange (routing key = the requester's reply queue). */
export const REPLY_PUBLICATION = 'drover.reply';
/** Subscription consuming this bus instance's reply queue. */
export const REPLY_SUBSCRIPTION = 'drover.replies';
/**
 * Subscription used as a template for queues declared at run time: rascal cannot add queues or subscriptions
 * after `create`, so the bus subscribes with it and overrides `source` (the queue consumed). Its own queue is
 * the reply queue; it is never consumed without an override.
 */
export const CONSUMER_TEMPLATE = 'drover.consumer';

/**
 * Publishes awaiting their confirm at once, per process. rascal holds a pooled confirm channel
 * from the publish until the broker confirms, and its pool defaults to 5 channels, which capped
 * the engine at 5 / (confirm latency): `npm run bench` went from about 600 to 1000 cmd/s with 32.
 */
export const DEFAULT_PUBLISH_CHANNELS = 32;
/** How long a reply queue survives without consumers (covers reconnects; then the broker removes it). */
const REPLY_QUEUE_EXPIRES_MS = 60_000;
/**
 * Broker reconnect and resubscribe backoff (randomised between one step and the next). Capped at 1 s: with a
 * 10 s cap, services came back up to 5 s after a RabbitMQ restart (`rabbitmqctl start_app`) had finished, time
 * taken from the session-agent lease; a refused connection attempt per second per process costs the broker
 * nothing worth saving.
 */
const RETRY = { min: 250, max: 1_000, factor: 2, strategy: 'exponential' } as const;
/** How long cancelling a subscription waits for unacknowledged deliveries (running handlers, deferred retries). */
const CLOSE_TIMEOUT_MS = 30_000;
/** How long a publish waits for the broker's confirm. */
const CONFIRM_TIMEOUT_MS = 10_000;

export interface RascalExchange {
  type: ExchangeSpec['type'];
  /** `false` with `check`: a passive declaration (see `RascalConfigOptions.declareTopology`). */
  assert: boolean;
  check?: true;
  options: { durable: boolean };
}

export interface RascalQueue {
  assert: boolean;
  check?: true;
  options: { durable: boolean; autoDelete?: boolean; exclusive?: boolean; arguments: Record<string, unknown> };
}

export interface RascalBinding {
  source: string;
  destination: string;
  destinationType: 'queue';
  bindingKeys: string[];
}

export interface RascalPublication {
  exchange: string;
  confirm: true;
  timeout: number;
  options: { persistent: boolean; mandatory: boolean; contentType: string };
}

export interface RascalSubscription {
  queue: string;
  prefetch: number;
  contentType: 'application/json';
  retry: typeof RETRY;
  closeTimeout: number;
  options: { noAck: false };
}

export interface RascalVhost {
  /** One per broker node; rascal tries them in turn (`connectionStrategy`) until one answers. */
  connections: { url: string; socketOptions: { clientProperties: { connection_name: string } } }[];
  /** `random`: the processes of a deployment spread over the cluster's nodes. */
  connectionStrategy: 'random' | 'fixed';
  exchanges: Record<string, RascalExchange>;
  queues: Record<string, RascalQueue>;
  bindings: Record<string, RascalBinding>;
  publications: Record<string, RascalPublication>;
  subscriptions: Record<string, RascalSubscription>;
  /** generic-pool settings of rascal's publication channels (every Drover publication confirms). */
  publicationChannelPools: { confirmPool: { max: number; min: number } };
}

/** The rascal definitions (before `withDefaultConfig`). */
export interface RascalDefinitions {
  vhosts: Record<string, RascalVhost>;
  defaults: { vhosts: { connection: { retry: typeof RETRY } } };
}

export interface RascalConfigOptions {
  /** Unprefixed name of this bus instance's reply queue (non-durable, expires when unused). */
  replyQueue?: string;
  /** Prefetch of every subscription unless `subscribe` says otherwise. */
  prefetch?: number;
  /** Shown by the broker (management UI, `rabbitmqctl list_connections`). Default `drover`. */
  connectionName?: string;
  /** Confirm channels, so publishes awaiting their confirm at once. Default `DEFAULT_PUBLISH_CHANNELS`. */
  publishChannels?: number;
  /**
   * `false`: the topology's exchanges and queues are only checked (passive declarations, which RabbitMQ allows
   * without `configure` permission) and no binding is made; bootstrap (or the broker's definitions) made them.
   * Default `true`: declared and bound. The reply queue is declared either way.
   */
  declareTopology?: boolean;
}

/** One queue as asserted on the broker, with its bindings (all names qualified). */
export interface QueueDeclaration {
  /** Unprefixed name. */
  name: string;
  /** Name on the broker. */
  qualifiedName: string;
  options: RascalQueue['options'];
  bindings: { exchange: string; pattern: string }[];
}

/** `<prefix>.<name>`, or `name` without a prefix. */
export function qualify(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** The inverse of `qualify` for names that carry the prefix; others come back unchanged. */
export function unqualify(prefix: string, name: string): string {
  return prefix && name.startsWith(`${prefix}.`) ? name.slice(prefix.length + 1) : name;
}

/** The dead-letter queue name of a queue spec (its own or a shared one), or undefined for none. */
export function deadLetterQueueOf(spec: QueueSpec): string | undefined {
  if (spec.sharedDeadLetter) return spec.sharedDeadLetter.queue;
  return spec.deadLetterQueue === false ? undefined : (spec.deadLetterQueue ?? `${spec.name}.dead`);
}

/** Arguments of every dead-letter queue: durable quorum, no delivery limit (an operator reads them). */
const DEAD_LETTER_QUEUE_OPTIONS: RascalQueue['options'] = { durable: true, arguments: { 'x-queue-type': 'quorum' } };

/**
 * The queue and its own dead-letter queue as asserted on the broker. The dead-letter route uses the unprefixed
 * queue name as routing key on the (prefixed) dead-letter exchange.
 */
export function queueDeclarations(spec: QueueSpec, prefix: string): QueueDeclaration[] {
  const deadExchange = qualify(prefix, Exchanges.dead);
  const deadQueue = deadLetterQueueOf(spec);
  const classic = (spec.autoDelete ?? false) || spec.expiresMs !== undefined;
  const args: Record<string, unknown> = classic
    ? { 'x-queue-type': 'classic' }
    : { 'x-queue-type': 'quorum', 'x-delivery-limit': spec.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT };
  if (spec.expiresMs !== undefined) args['x-expires'] = spec.expiresMs;
  if (deadQueue !== undefined) {
    args['x-dead-letter-exchange'] = deadExchange;
    args['x-dead-letter-routing-key'] = spec.name;
  }
  const main: QueueDeclaration = {
    name: spec.name,
    qualifiedName: qualify(prefix, spec.name),
    options: spec.autoDelete
      ? { durable: true, autoDelete: true, arguments: args }
      : { durable: true, arguments: args },
    bindings: spec.bindings.map((binding) => ({
      exchange: qualify(prefix, binding.exchange),
      pattern: binding.pattern,
    })),
  };
  // A shared dead-letter queue belongs to the topology: declaring or binding it per queue would leave a
  // binding behind for every queue that came and went.
  if (deadQueue === undefined || spec.sharedDeadLetter) return [main];
  const dead: QueueDeclaration = {
    name: deadQueue,
    qualifiedName: qualify(prefix, deadQueue),
    options: DEAD_LETTER_QUEUE_OPTIONS,
    bindings: [{ exchange: deadExchange, pattern: spec.name }],
  };
  return [main, dead];
}

/** A shared dead-letter queue as asserted on the broker, bound to the dead-letter exchange with its pattern. */
export function sharedDeadLetterDeclaration(spec: SharedDeadLetterQueueSpec, prefix: string): QueueDeclaration {
  return {
    name: spec.name,
    qualifiedName: qualify(prefix, spec.name),
    options: DEAD_LETTER_QUEUE_OPTIONS,
    bindings: [{ exchange: qualify(prefix, Exchanges.dead), pattern: spec.pattern }],
  };
}

/** Every queue the topology asserts at start-up: its queues, their dead-letter queues, the shared ones. */
export function topologyDeclarations(topology: Topology, prefix: string): QueueDeclaration[] {
  return [
    ...topology.queues.flatMap((spec) => queueDeclarations(spec, prefix)),
    ...(topology.sharedDeadLetterQueues ?? []).map((spec) => sharedDeadLetterDeclaration(spec, prefix)),
  ];
}

/**
 * Renders the topology as rascal definitions for a broker, or the nodes of one cluster (`urls`,
 * see `brokerUrls`); `prefix` namespaces every name.
 */
export function toRascalConfig(
  urls: string | string[],
  topology: Topology,
  prefix: string,
  options: RascalConfigOptions = {},
): RascalDefinitions {
  const prefetch = options.prefetch ?? DEFAULT_PREFETCH;
  const declare = options.declareTopology ?? true;
  const presence = declare ? { assert: true } : { assert: false, check: true as const };
  const replyQueue = options.replyQueue ?? 'drover.replies';
  const subscription = (queue: string): RascalSubscription => ({
    queue,
    prefetch,
    contentType: 'application/json',
    retry: RETRY,
    closeTimeout: CLOSE_TIMEOUT_MS,
    options: { noAck: false },
  });

  const exchanges: Record<string, RascalExchange> = {};
  const publications: Record<string, RascalPublication> = {};
  const withDead: ExchangeSpec[] = topology.exchanges.some((exchange) => exchange.name === Exchanges.dead)
    ? topology.exchanges
    : [...topology.exchanges, { name: Exchanges.dead, type: 'topic' }];
  for (const exchange of withDead) {
    const name = qualify(prefix, exchange.name);
    exchanges[name] = { type: exchange.type, ...presence, options: { durable: true } };
    publications[exchange.name] = {
      exchange: name,
      confirm: true,
      timeout: CONFIRM_TIMEOUT_MS,
      options: { persistent: true, mandatory: true, contentType: 'application/json' },
    };
  }

  const queues: Record<string, RascalQueue> = {};
  const bindings: Record<string, RascalBinding> = {};
  const subscriptions: Record<string, RascalSubscription> = {};
  for (const declaration of topologyDeclarations(topology, prefix)) {
    queues[declaration.qualifiedName] = { ...presence, options: declaration.options };
    subscriptions[declaration.name] = subscription(declaration.qualifiedName);
    if (!declare) continue;
    const byExchange = new Map<string, string[]>();
    for (const binding of declaration.bindings) {
      byExchange.set(binding.exchange, [...(byExchange.get(binding.exchange) ?? []), binding.pattern]);
    }
    for (const [exchange, keys] of byExchange) {
      bindings[`${exchange} -> ${declaration.qualifiedName}`] = {
        source: exchange,
        destination: declaration.qualifiedName,
        destinationType: 'queue',
        bindingKeys: [...new Set(keys)],
      };
    }
  }

  const reply = qualify(prefix, replyQueue);
  queues[reply] = {
    assert: true,
    options: { durable: false, arguments: { 'x-queue-type': 'classic', 'x-expires': REPLY_QUEUE_EXPIRES_MS } },
  };
  subscriptions[REPLY_SUBSCRIPTION] = subscription(reply);
  subscriptions[CONSUMER_TEMPLATE] = subscription(reply);
  publications[REPLY_PUBLICATION] = {
    exchange: '',
    confirm: true,
    timeout: CONFIRM_TIMEOUT_MS,
    options: { persistent: false, mandatory: false, contentType: 'application/json' },
  };

  return {
    vhosts: {
      [RASCAL_VHOST]: {
        connections: (typeof urls === 'string' ? [urls] : urls).map((url) => ({
          url,
          socketOptions: { clientProperties: { connection_name: options.connectionName ?? 'drover' } },
        })),
        connectionStrategy: 'random',
        exchanges,
        queues,
        bindings,
        publications,
        subscriptions,
        publicationChannelPools: {
          confirmPool: { max: options.publishChannels ?? DEFAULT_PUBLISH_CHANNELS, min: 1 },
        },
      },
    },
    defaults: { vhosts: { connection: { retry: RETRY } } },
  };
}
