import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Exchanges, RoutingKeys, type SessionHeartbeat } from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import type { DroverMetrics } from '@drover/platform';
import type { Clock, Logger } from '@drover/runtime';
import type { SessionSlots } from '../slots/session-slots';

/** Milliseconds on a clock that never jumps (wall-clock steps must not stretch or shrink a lease). */
export type MonotonicClock = () => number;

/**
 * The host's lease: a heartbeat with its capacity and agents every `heartbeatMs`, and a goodbye.
 *
 * The lease is renewed only by a heartbeat the broker confirmed, and it runs from the moment that
 * heartbeat was sent (not confirmed): the scheduler can have seen it no earlier, so the host's
 * deadline is never later than the one the scheduler measures. When `leaseMs` pass without a
 * renewal the host is fenced (`onLapse`): it must stop acting for its agents, because the
 * scheduler is about to hand them to another host. A later confirmed heartbeat ends the fence
 * (`onRejoin`); the host then rejoins with whatever slots are free, which after a fence is all
 * of them.
 */
export class Heartbeats {
  private timer?: NodeJS.Timeout;
  private lapseTimer?: NodeJS.Timeout;
  /** When (monotonic ms) the newest confirmed heartbeat was sent; undefined before the first. */
  private renewedAt?: number;
  private fenced = false;
  /**
   * When the periodic beat still waiting for its confirm was sent: no second one piles up behind
   * it during an outage, unless it has waited a whole lease (a publish that never settles must
   * not stop the host from ever rejoining).
   */
  private inFlightSince?: number;
  private readonly monotonic: MonotonicClock;

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
      /** The lease lapsed: abort every session. Called once per lapse. */
      onLapse?: (lapse: { renewedMsAgo: number | undefined }) => void;
      /** A confirmed heartbeat after a lapse: the host may take work again. */
      onRejoin?: () => void;
      monotonic?: MonotonicClock;
    },
  ) {
    this.monotonic = deps.monotonic ?? (() => performance.now());
    // The series exist from the start, so increase() also sees the first fence.
    deps.metrics?.sessionSelfFenced.inc({ instance: deps.instanceId }, 0);
    deps.metrics?.sessionAgentFenced.set({ instance: deps.instanceId }, 0);
  }

  /** Beats now, then every `heartbeatMs` until `stop`. */
  async start(): Promise<void> {
    await this.beat();
    // Without a confirmed first beat the host holds no lease: it is fenced until one is confirmed.
    if (this.renewedAt === undefined) this.fence();
    this.timer = setInterval(() => {
      // A host that wakes past its lease (a long GC, a frozen VM) fences itself before it beats:
      // the beat it is about to send would otherwise renew the lease as if nothing had lapsed,
      // when its confirm comes before the lapse timer or a report's lease check (both overdue).
      if (this.renewedAt !== undefined) this.holdsLease();
      const since = this.inFlightSince;
      if (since !== undefined && this.monotonic() - since < this.deps.leaseMs) return;
      const mine = this.monotonic();
      this.inFlightSince = mine;
      void this.beat().finally(() => {
        if (this.inFlightSince === mine) this.inFlightSince = undefined;
      });
    }, this.deps.heartbeatMs);
    this.timer.unref();
  }

  /** Stops the periodic beats and the lease watch (a goodbye is sent with `beat(false)`). */
  stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.lapseTimer);
  }

  /**
   * True while the lease holds. Checked before the host acts for an agent, so a host that was
   * paused (a long GC, a frozen VM) fences itself on waking even before its lapse timer fires.
   */
  holdsLease(): boolean {
    if (this.fenced) return false;
    if (this.renewedAt === undefined || this.monotonic() - this.renewedAt >= this.deps.leaseMs) {
      this.fence();
      return false;
    }
    return true;
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
    const sentAt = this.monotonic();
    try {
      await this.deps.bus.publish(Exchanges.reports, RoutingKeys.heartbeat, beat, { messageId });
    } catch (error) {
      this.deps.logger.warn({ err: (error as Error).message }, 'heartbeat not published');
      return;
    }
    if (alive) this.renewed(sentAt);
  }

  private renewed(sentAt: number): void {
    this.renewedAt = Math.max(this.renewedAt ?? sentAt, sentAt);
    const left = this.renewedAt + this.deps.leaseMs - this.monotonic();
    // A confirm that arrives after its lease already ran out (held back through an outage)
    // renews nothing: the next heartbeat, sent now, will.
    if (left <= 0) return;
    if (this.fenced) {
      this.fenced = false;
      this.deps.metrics?.sessionAgentFenced.set({ instance: this.deps.instanceId }, 0);
      this.deps.onRejoin?.();
    }
    this.watchLapse();
  }

  /** Fences at the deadline; timers may fire a little early, so an early one waits again. */
  private watchLapse(): void {
    clearTimeout(this.lapseTimer);
    if (this.fenced || this.renewedAt === undefined) return;
    const left = this.renewedAt + this.deps.leaseMs - this.monotonic();
    this.lapseTimer = setTimeout(
      () => {
        if (this.holdsLease()) this.watchLapse();
      },
      Math.max(1, Math.ceil(left)),
    );
    this.lapseTimer.unref();
  }

  private fence(): void {
    if (this.fenced) return;
    this.fenced = true;
    clearTimeout(this.lapseTimer);
    const renewedMsAgo = this.renewedAt === undefined ? undefined : Math.round(this.monotonic() - this.renewedAt);
    // A host that never held a lease (its first heartbeat was not confirmed) lost nothing.
    if (renewedMsAgo !== undefined) this.deps.metrics?.sessionSelfFenced.inc({ instance: this.deps.instanceId });
    this.deps.metrics?.sessionAgentFenced.set({ instance: this.deps.instanceId }, 1);
    this.deps.onLapse?.({ renewedMsAgo });
  }
}
