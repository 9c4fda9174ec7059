import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { BrokerAsPromised, type BrokerConfig, withDefaultConfig } from 'rascal';
import type { Logger } from '@drover/runtime';
import type { Topology } from '../bus.port';
import { toRascalConfig, type RascalConfigOptions } from './rabbitmq-config';

/**
 * Creates the rascal broker for the topology (asserting it on the broker) and logs its connection events.
 * Subscriptions settle with promises (`promisifyAckOrNack`): `ackOrNack` resolves once the ack or recovery is done.
 */
export async function openBroker(
  urls: string[],
  topology: Topology,
  prefix: string,
  options: RascalConfigOptions,
  logger: Logger | undefined,
): Promise<BrokerAsPromised> {
  const definitions = toRascalConfig(urls, topology, prefix, options);
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
  broker.on('error', (error: Error) => logger?.warn({ err: error }, 'rabbitmq connection error'));
  broker.on('disconnect', () => logger?.warn('rabbitmq disconnected, reconnecting'));
  broker.on('vhost_initialised', () => logger?.info('rabbitmq connected'));
  broker.on('blocked', (reason: string) => logger?.warn({ reason }, 'rabbitmq connection blocked'));
  broker.on('unblocked', () => logger?.info('rabbitmq connection unblocked'));
  return broker;
}

interface AdminConnection {
  connection: Promise<ChannelModel>;
  channel?: Promise<Channel>;
}

/**
 * A small amqplib connection for what rascal cannot do after `create`: declaring and deleting queues at run
 * time, and checks. Opened on first use; the channel is dropped after any failure (the broker closes a channel
 * on e.g. a 404) and the connection when it closes; both reopen on next use.
 */
export class AdminChannel {
  private admin: AdminConnection | undefined;

  /** The node the last connection reached, where the next one starts trying. */
  private node = 0;

  constructor(
    private readonly urls: string[],
    private readonly logger: Logger | undefined,
  ) {}

  /** Runs `work` on the admin channel. */
  async run<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const admin = (this.admin ??= this.open());
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

  /** Closes the admin connection, if one is open. */
  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await (await admin.connection.catch(() => undefined))?.close().catch(() => undefined);
  }

  private open(): AdminConnection {
    const admin: AdminConnection = {
      connection: this.connectAnyNode().then((connection) => {
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

  /** Connects to the first node that answers, starting with the one that answered last; throws the last error. */
  private async connectAnyNode(): Promise<ChannelModel> {
    let lastError: unknown;
    for (let tried = 0; tried < this.urls.length; tried += 1) {
      const index = (this.node + tried) % this.urls.length;
      try {
        const connection = await amqpConnect(this.urls[index]!);
        this.node = index;
        return connection;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }
}
