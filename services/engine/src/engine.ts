import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { RecoveryPolicy } from '@drover/domain';
import type { INestMicroservice } from '@nestjs/common';
import { Queues, type Bus } from '@drover/messaging';
import { listenOnBus } from '@drover/messaging/nest';
import type { DroverMetrics } from '@drover/platform';
import type { Clock, Logger, SecretBox } from '@drover/runtime';
import { isStoreUnavailable, type Store } from '@drover/store';
import { EngineModule } from './engine.module';
import { ProcessMessageHandler } from './process-message/process-message.handler';
import { OutboxSweeper } from './relay-outbox/outbox-relay';

export interface EngineOptions {
  policy: RecoveryPolicy;
  /** The per-agent lease's time to live (the profile's `engine.leaseMs`); 10 s by default. */
  leaseMs?: number;
  /** In-flight messages per queue; different agents are processed concurrently. */
  prefetch?: number;
  sweepIntervalMs?: number;
  metrics?: DroverMetrics;
}

/** The engine service: stateless, any number of replicas may run against one store and bus. */
export class Engine {
  readonly owner = `engine-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly handler: ProcessMessageHandler;
  private readonly sweeper: OutboxSweeper;
  private app?: INestMicroservice;

  constructor(
    private readonly deps: {
      bus: Bus;
      store: Store;
      clock: Clock;
      logger: Logger;
      /** Seals the secrets of a start published in clear. */
      secrets: SecretBox;
    },
    private readonly options: EngineOptions,
  ) {
    const leaseMs = options.leaseMs ?? 10_000;
    this.handler = new ProcessMessageHandler({
      bus: deps.bus,
      store: deps.store,
      clock: deps.clock,
      logger: deps.logger,
      policy: options.policy,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      // Waiting up to one and a half leases lets a message outwait a holder that stalled and lost
      // its lease, instead of failing into a retry.
      lock: { owner: this.owner, ttlMs: leaseMs, waitMs: Math.max(5_000, leaseMs * 1.5), pollMs: 5 },
    });
    this.sweeper = new OutboxSweeper(
      { bus: deps.bus, outbox: deps.store.outbox, logger: deps.logger, now: () => deps.clock.now() },
      { intervalMs: options.sweepIntervalMs ?? 2_000, graceMs: 2_000, batch: 100 },
    );
  }

  async start(): Promise<void> {
    const { bus, logger, clock, secrets } = this.deps;
    // Relay whatever a crash left behind before taking new work.
    await this.sweeper.sweep(0);
    const prefetch = this.options.prefetch ?? 16;
    this.app = await listenOnBus(
      bus,
      EngineModule.forRoot({ handler: this.handler, bus, clock, logger, secrets }),
      [
        { name: Queues.engineCommands, prefetch },
        { name: Queues.engineReports, prefetch },
      ],
      { isUnavailable: isStoreUnavailable },
    );
    this.sweeper.start();
    logger.info({ owner: this.owner }, 'engine consuming');
  }

  async stop(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
    await this.sweeper.stop();
  }
}
