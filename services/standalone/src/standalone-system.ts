import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { INestApplication } from '@nestjs/common';
import { DROVER_TOPOLOGY, Queues, type Bus } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import {
  DroverMetrics,
  InstrumentedBus,
  openOrCreateSecretBox,
  openRedis,
  openBus,
  openStore,
  ScreenshotStore,
  startOpsServer,
} from '@drover/platform';
import { systemClock, type DroverConfig, type Logger } from '@drover/runtime';
// The standalone service is the one place allowed to compose other services.
import { applyProfile } from '../../bootstrap/src/apply-profile';
import { Engine } from '../../engine/src/engine';
import { createGatewayApp } from '../../gateway/src/gateway.module';
import { apiBind, localUrl } from '../../gateway/src/security/api-bind';
import { securityFromEnv } from '../../gateway/src/security/security.middleware';
import { PersistenceAgent } from '../../persistence-agent/src/persistence-agent';
import { Scheduler } from '../../scheduler/src/scheduler';
import { createSessionAgent } from '../../session-agent/src/session-agent';

export interface RunningSystem {
  url: string;
  /** The address the API is bound to (`apiBind`): 127.0.0.1 without keys unless HOST says otherwise. */
  apiHost: string;
  /** `/live`, `/ready`, `/metrics`: a second listener on OPS_HOST:OPS_PORT. */
  opsUrl: string;
  /** Set when the API has no keys: what that means and where it listens (see `apiBind`). */
  apiWarning?: string;
  instanceId: string;
  /** The system's bus (tests observe its messages, e.g. the session agent's heartbeats). */
  bus: Bus;
  /** Graceful stop: no new work, sessions handed off, queues drained, everything closed. */
  stop(): Promise<void>;
}

/**
 * Every Drover service in one process, on the bus and store the environment names: the
 * in-memory bus, or RabbitMQ with `RABBITMQ_URL`; SQLite in `DROVER_DATA_DIR`, or MongoDB with
 * `MONGO_URL`. The profile's
 * agents are registered at start, as bootstrap does for separate processes.
 */
export async function startStandalone(config: DroverConfig, logger: Logger): Promise<RunningSystem> {
  const { env, profile } = config;
  const bind = apiBind(env); // before opening anything: a refused bind fails the start at once
  const clock = systemClock;
  const store = await openStore({ ...env, DROVER_DATA_DIR: resolve(env.DROVER_DATA_DIR) });
  const metrics = new DroverMetrics('standalone');
  // RabbitMQ when RABBITMQ_URL is set (the whole system on a real broker, its queues in the
  // management UI), else the in-memory bus, which bounds its own dead-letter queues.
  const innerBus = env.RABBITMQ_URL
    ? await openBus(env, logger, { shared: false, declaresTopology: true, service: 'standalone' })
    : new InMemoryBus(DROVER_TOPOLOGY, {
        logger: logger.child({ component: 'bus' }),
        deadLetterBounds: profile.retention.deadLetters,
      });
  const bus = new InstrumentedBus(innerBus, metrics);
  const redis = openRedis(env, logger);
  const child = (component: string) => logger.child({ component });
  const secrets = openOrCreateSecretBox(env, logger);

  const persistence = new PersistenceAgent(
    { bus, store, clock, logger: child('persistence-agent') },
    { retention: profile.retention, keepDeadLetters: env.DROVER_DEAD_LETTER_KEEPER },
  );
  const engine = new Engine(
    { bus, store, clock, logger: child('engine'), secrets },
    { policy: profile.recovery, leaseMs: profile.engine.leaseMs, metrics },
  );
  const sessions = await createSessionAgent({
    config,
    bus,
    clock,
    logger: child('session-agent'),
    metrics,
    secrets,
  });
  const scheduler = new Scheduler(
    { bus, store, clock, logger: child('scheduler'), metrics },
    {
      tickMs: profile.scheduler.tickMs,
      startTimeoutMs: profile.scheduler.startTimeoutMs,
      rotation: profile.scheduler.rotation,
      sessionHeartbeatMs: profile.sessionAgent.heartbeatMs,
    },
  );

  await persistence.start();
  await engine.start();
  await sessions.host.start();
  scheduler.start();
  await applyProfile({ bus, store, clock, logger: child('bootstrap'), profile });
  const gateway: INestApplication = await createGatewayApp({
    bus,
    logger: child('gateway'),
    config: { commandTimeoutMs: profile.gateway.commandTimeoutMs, queryTimeoutMs: profile.gateway.queryTimeoutMs },
    screenshots: new ScreenshotStore(resolve(env.PERSISTENT_DATA_PATH), env.SCREENSHOT_LIMIT),
    security: securityFromEnv(env, redis),
    secrets,
    feed: { keepAliveMs: env.SSE_KEEPALIVE_MS },
  });
  await gateway.listen(env.PORT, bind.host);
  const address = (gateway.getHttpServer() as Server).address() as AddressInfo;
  const url = localUrl(bind.host, address.port);
  if (bind.warning) logger.warn({ host: bind.host }, bind.warning);
  // The probes and metrics on their own listener, as in the separate services.
  const ops = await startOpsServer({
    port: env.OPS_PORT,
    host: env.OPS_HOST,
    checks: { bus: () => bus.ping(), store: () => store.ping() },
    metrics,
    logger: child('ops'),
  });

  const stop = async (): Promise<void> => {
    await gateway.close();
    await ops.close();
    await scheduler.stop();
    await sessions.shutdown();
    // Let the last reports and the goodbye heartbeat reach the read side before closing.
    await drain(
      innerBus,
      [
        Queues.engineReports,
        Queues.engineCommands,
        Queues.persistenceReports,
        Queues.persistenceHeartbeats,
        Queues.persistenceEvents,
      ],
      2_000,
    );
    await engine.stop();
    await persistence.stop();
    await bus.close();
    await store.close();
    redis?.disconnect();
  };
  return {
    url,
    apiHost: bind.host,
    opsUrl: ops.url,
    ...(bind.warning ? { apiWarning: bind.warning } : {}),
    instanceId: sessions.instanceId,
    bus,
    stop,
  };
}

async function drain(bus: Bus, queues: string[], maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const stats = await Promise.all(queues.map((q) => bus.queueStats(q)));
    if (stats.every((s) => s.messages === 0)) return;
    await sleep(20);
  }
}
