import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { BehaviorRegistry, builtInBehaviors } from '@drover/behaviors';
import { DROVER_TOPOLOGY, InMemoryBus, Queues } from '@drover/messaging';
import { systemClock, type DroverConfig, type Logger } from '@drover/runtime';
import { openSqliteStore } from '@drover/store';
// The standalone service is the one place allowed to compose other services.
import { Engine } from '../../engine/src/engine';
import { createGatewayApp } from '../../gateway/src/gateway.module';
import { PersistenceAgent } from '../../persistence-agent/src/persistence-agent';
import { Scheduler } from '../../scheduler/src/scheduler';
import { SessionHost } from '../../session-agent/src/session-host';

export interface RunningSystem {
  url: string;
  instanceId: string;
  /** Graceful stop: no new work, sessions handed off, queues drained, everything closed. */
  stop(): Promise<void>;
}

/** Every Drover service in one process on the in-memory bus and the SQLite store. */
export async function startStandalone(config: DroverConfig, logger: Logger): Promise<RunningSystem> {
  const { env, profile } = config;
  const clock = systemClock;
  const store = openSqliteStore({ dataDir: resolve(env.DROVER_DATA_DIR) });
  const bus = new InMemoryBus(DROVER_TOPOLOGY, { logger: logger.child({ component: 'bus' }) });
  const child = (component: string) => logger.child({ component });

  const persistence = new PersistenceAgent({ bus, store, clock, logger: child('persistence-agent') });
  const engine = new Engine({ bus, store, clock, logger: child('engine') }, { policy: profile.recovery });
  // A fresh id per boot: the previous process's sessions are recognised as lost by their lease.
  const instanceId = env.SESSION_AGENT_ID ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
  const sessions = new SessionHost({
    bus,
    clock,
    logger: child('session-agent'),
    registry: new BehaviorRegistry(builtInBehaviors()),
    instanceId,
    maxConcurrentAgents: profile.sessionAgent.maxConcurrentAgents,
    heartbeatMs: profile.sessionAgent.heartbeatMs,
    leaseMs: profile.sessionAgent.leaseMs,
  });
  const scheduler = new Scheduler(
    { bus, store, clock, logger: child('scheduler') },
    { tickMs: profile.scheduler.tickMs, startTimeoutMs: profile.scheduler.startTimeoutMs },
  );

  await persistence.start();
  await engine.start();
  await sessions.start();
  scheduler.start();
  const gateway: INestApplication = await createGatewayApp({
    bus,
    logger: child('gateway'),
    config: { commandTimeoutMs: profile.gateway.commandTimeoutMs, queryTimeoutMs: profile.gateway.queryTimeoutMs },
  });
  await gateway.listen(env.PORT, env.HOST);
  const address = (gateway.getHttpServer() as Server).address() as AddressInfo;
  const url = `http://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${address.port}`;

  const stop = async (): Promise<void> => {
    await gateway.close();
    await scheduler.stop();
    await sessions.shutdown();
    // Let the last reports and the goodbye heartbeat reach the read side before closing.
    await drain(
      bus,
      [Queues.engineReports, Queues.engineCommands, Queues.persistenceReports, Queues.persistenceEvents],
      2_000,
    );
    await engine.stop();
    await persistence.stop();
    await bus.close();
    await store.close();
  };
  return { url, instanceId, stop };
}

async function drain(bus: InMemoryBus, queues: string[], maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const stats = await Promise.all(queues.map((q) => bus.queueStats(q)));
    if (stats.every((s) => s.messages === 0)) return;
    await sleep(20);
  }
}
