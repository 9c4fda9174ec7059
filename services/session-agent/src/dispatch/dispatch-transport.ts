import type { INestMicroservice } from '@nestjs/common';
import { Queues, sessionAgentQueue, sessionAgentQueueExpiresMs, type Bus, type QueueSpec } from '@drover/messaging';
import { listenOnBus } from '@drover/messaging/nest';
import type { Logger } from '@drover/runtime';
import { OWN_QUEUE_PATTERN } from './dispatch.consumer';
import { DispatchModule } from './dispatch.module';
import type { SessionWork } from './session-work.port';

/** The run-profile's default heartbeat lease, for a caller that does not pass its own. */
const DEFAULT_LEASE_MS = 10_000;
/** AMQP reply code of a declaration whose arguments differ from the existing queue's. */
const PRECONDITION_FAILED = 406;

/** Consuming of dispatch messages: the shared pending queue and this instance's own queue. */
export class DispatchTransport {
  private app?: INestMicroservice;
  private readonly own: QueueSpec;

  constructor(
    private readonly deps: {
      bus: Bus;
      logger: Logger;
      instanceId: string;
      maxConcurrentAgents: number;
      /** The heartbeat lease: the instance's queue outlives its last consumer by two (`sessionAgentQueueExpiresMs`). */
      leaseMs?: number;
    },
  ) {
    this.own = sessionAgentQueue(deps.instanceId, sessionAgentQueueExpiresMs(deps.leaseMs ?? DEFAULT_LEASE_MS));
  }

  /** Declares the instance's queue and starts handing its messages and pending starts to `work`. */
  async listen(work: SessionWork): Promise<void> {
    const { bus, logger, maxConcurrentAgents } = this.deps;
    await this.declareOwnQueue();
    this.app = await listenOnBus(bus, DispatchModule.forRoot({ work, logger }), [
      { name: this.own.name, pattern: OWN_QUEUE_PATTERN, prefetch: 16 },
      // A few starts at once (browser contexts take a while); a slot is taken as a start
      // arrives, so a full host defers instead of hoarding work.
      { name: Queues.pendingSessions, prefetch: Math.min(4, maxConcurrentAgents) },
    ]);
  }

  /** Stops consuming (running handlers finish first). */
  async close(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }

  /** Removes the instance's queue once nothing will be stopped through it any more. */
  async removeOwnQueue(): Promise<void> {
    await this.deps.bus.deleteQueue(this.own.name).catch(() => undefined);
  }

  /**
   * A queue of this id left by an earlier Drover version (a quorum queue with a `.dead` queue of its own) has
   * other arguments, and the broker refuses to declare it anew. It belonged to an earlier run of this id (a
   * fixed `SESSION_AGENT_ID`), so it and its dead-letter queue are replaced.
   */
  private async declareOwnQueue(): Promise<void> {
    const { bus, logger } = this.deps;
    try {
      await bus.declareQueue(this.own);
    } catch (error) {
      if ((error as { code?: unknown }).code !== PRECONDITION_FAILED) throw error;
      logger.warn({ queue: this.own.name, err: error }, 'replacing a session-agent queue of an earlier version');
      await bus.deleteQueue(this.own.name);
      await bus.deleteQueue(`${this.own.name}.dead`).catch(() => undefined);
      await bus.declareQueue(this.own);
    }
  }
}
