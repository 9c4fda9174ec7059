import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { DROVER_TOPOLOGY, SenderGuardBus, type Bus } from '@drover/messaging';
import { ConfigError, SecretBox, type Env, type Logger } from '@drover/runtime';
import type { Store } from '@drover/store';

/**
 * The adapters a process runs on, picked by the environment: RabbitMQ when `RABBITMQ_URL` is
 * set (else the in-memory bus, which only reaches this process), MongoDB when `MONGO_URL` is
 * set (else SQLite in `DROVER_DATA_DIR`, shared safely by every process on the host), Redis
 * when `REDIS_URL` is set (else nothing needs it). Each adapter is imported in the branch that
 * picks it, so a process loads one broker client and one database driver, never the other's.
 */
export async function openBus(
  env: Env,
  logger: Logger,
  /** `service`: the publishing service's name, sent as AMQP `app_id` on every message. */
  options: { shared: boolean; declaresTopology?: boolean; service?: string },
): Promise<Bus> {
  if (env.RABBITMQ_URL) {
    const { RabbitMqBus } = await import('@drover/messaging/rabbitmq');
    const users = env.DROVER_BUS_USERS;
    const bus = await RabbitMqBus.connect(env.RABBITMQ_URL, DROVER_TOPOLOGY, {
      logger: logger.child({ component: 'rabbitmq' }),
      prefetch: env.PREFETCH,
      // With a broker user per service, only bootstrap may configure the shared topology.
      declareTopology: !users || (options.declaresTopology ?? false),
      ...(options.service ? { appId: options.service } : {}),
    });
    // Senders are told apart only when each service has its own broker user (docs/security.md, "Trust boundaries").
    return users ? new SenderGuardBus(bus, users, logger.child({ component: 'senders' })) : bus;
  }
  if (options.shared) {
    throw new Error('RABBITMQ_URL is required: a service in its own process needs a shared message bus');
  }
  const { InMemoryBus } = await import('@drover/messaging/in-memory');
  return new InMemoryBus(DROVER_TOPOLOGY, { logger: logger.child({ component: 'bus' }) });
}

export async function openStore(env: Env): Promise<Store> {
  if (env.MONGO_URL) {
    const { openMongoStore } = await import('@drover/store/mongodb');
    return openMongoStore(env.MONGO_URL, { dbName: env.MONGO_DB });
  }
  const { openSqliteStore } = await import('@drover/store/sqlite');
  return openSqliteStore({ dataDir: resolve(env.DROVER_DATA_DIR) });
}

/** A Redis client that fails fast instead of queueing commands while Redis is away. */
export function openRedis(env: Env, logger: Logger): Redis | undefined {
  if (!env.REDIS_URL) return undefined;
  const redis = new Redis(env.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', (error: Error) => logger.warn({ err: error.message }, 'redis unavailable'));
  return redis;
}

/** File name of the key ring the embedded mode writes in its data directory. */
export const SECRETS_KEY_FILE_NAME = 'secrets.key';

/**
 * The secrets key ring of a service that seals or opens secrets (gateway, engine, session
 * agent), from `DROVER_SECRETS_KEY_FILE` (or `DROVER_SECRETS_KEY`). A service in its own process
 * refuses to start without one: a key made up on the spot would open nothing the others sealed.
 */
export function openSecretBox(env: Env): SecretBox {
  if (!env.DROVER_SECRETS_KEY) {
    throw new ConfigError(
      'DROVER_SECRETS_KEY_FILE is not set: the gateway, the engine and the session agents share one ' +
        'secrets key ring (docs/security.md, "Secrets"); create one with `npm run --silent secrets-key > secrets.key`',
    );
  }
  try {
    return SecretBox.parse(env.DROVER_SECRETS_KEY, 'DROVER_SECRETS_KEY_FILE');
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/**
 * The embedded mode's key ring: the one the environment names, else `secrets.key` in the data
 * directory, written (mode 0600) on first start.
 */
export function openOrCreateSecretBox(env: Env, logger: Logger): SecretBox {
  if (env.DROVER_SECRETS_KEY) return openSecretBox(env);
  const path = join(resolve(env.DROVER_DATA_DIR), SECRETS_KEY_FILE_NAME);
  const { box, created } = SecretBox.loadOrCreate(path);
  if (created) logger.info({ path }, 'secrets key ring created');
  return box;
}
