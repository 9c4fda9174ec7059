import type { INestMicroservice } from '@nestjs/common';
import { Queues, sessionAgentQueue, type Bus } from '@drover/messaging';
import { listenOnBus } from '@drover/messaging/nest';
import type { Logger } from '@drover/runtime';
import { OWN_QUEUE_PATTERN } from './dispatch.consumer';
import { DispatchModule } from './dispatch.module';
import type { SessionWork } from './session-work.port';

/** Consuming of dispatch messages: the shared pending queue and this instance's own queue. */
export class DispatchTransport {
  private app?: INestMicroservice;

  constructor(private readonly deps: { bus: Bus; logger: Logger; instanceId: string; maxConcurrentAgents: number }) {}

  /** Declares the instance's queue and starts handing its messages and pending starts to `work`. */
  async listen(work: SessionWork): Promise<void> {
    const { bus, logger, instanceId, maxConcurrentAgents } = this.deps;
    const own = sessionAgentQueue(instanceId);
    await bus.declareQueue(own);
    this.app = await listenOnBus(bus, DispatchModule.forRoot({ work, logger }), [
      { name: own.name, pattern: OWN_QUEUE_PATTERN, prefetch: 16 },
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
    await this.deps.bus.deleteQueue(sessionAgentQueue(this.deps.instanceId).name).catch(() => undefined);
  }
}
