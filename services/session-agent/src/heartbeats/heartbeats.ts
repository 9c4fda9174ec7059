import { randomUUID } from 'node:crypto';
import { Exchanges, RoutingKeys, type SessionHeartbeat } from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import type { DroverMetrics } from '@drover/platform';
import type { Clock, Logger } from '@drover/runtime';
import type { SessionSlots } from '../slots/session-slots';

/** The host's lease: a heartbeat with its capacity and agents every `heartbeatMs`, and a goodbye. */
export class Heartbeats {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly deps: {
      bus: Bus;
      clock: Clock;
      logger: Logger;
      instanceId: string;
      heartbeatMs: number;
      leaseMs: number;
      slots: SessionSlots;
      metrics?: DroverMetrics;
    },
  ) {}

  /** Beats now, then every `heartbeatMs` until `stop`. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.deps.heartbeatMs);
    this.timer.unref();
  }

  /** Stops the periodic beats (a goodbye is sent with `beat(false)`). */
  stop(): void {
    clearInterval(this.timer);
  }

  /** One heartbeat; `alive: false` says goodbye, so the scheduler hands the agents off at once. */
  async beat(alive = true): Promise<void> {
    const { slots, instanceId, metrics } = this.deps;
    slots.publish();
    metrics?.sessionCapacity.set({ instance: instanceId }, alive ? slots.capacity : 0);
    const messageId = randomUUID();
    const beat: SessionHeartbeat = {
      messageId,
      type: 'session.heartbeat',
      instanceId,
      capacity: slots.capacity,
      agentIds: slots.agentIds(),
      leaseMs: this.deps.leaseMs,
      alive,
      occurredAt: this.deps.clock.now().toISOString(),
    };
    try {
      await this.deps.bus.publish(Exchanges.reports, RoutingKeys.heartbeat, beat, { messageId });
    } catch (error) {
      this.deps.logger.warn({ err: (error as Error).message }, 'heartbeat not published');
    }
  }
}
