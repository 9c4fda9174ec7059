import { performance } from 'node:perf_hooks';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { Exchanges, type AgentCommand, type SessionAgentRecord } from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import type { DroverMetrics } from '@drover/platform';
import type { Clock, Logger } from '@drover/runtime';
import type { Lease, Store } from '@drover/store';
import { dequeueAgents, freeSlots } from './dequeue-agents/dequeue-agents';
import { observeFleet } from './observe-fleet/observe-fleet';
import { HeartbeatWatch } from './expire-session-agents/heartbeat-watch';
import { LostSessions } from './expire-session-agents/lost-sessions';
import { SchedulerReadSide } from './infrastructure/read-side';
import { recoverAgents } from './recover-agents/recover-agents';
import { rotateAgents } from './rotate-agents/rotate-agents';
import { runSchedules } from './run-schedules/run-schedules';
import { timeOutStarts } from './time-out-starts/time-out-starts';

export interface SchedulerOptions {
  tickMs: number;
  /** A due command already published is sent again only this long after (default 10 s). */
  republishMs?: number;
  startTimeoutMs: number;
  /** Rotation of running agents while others wait for a slot (off by default). */
  rotation?: { enabled: boolean; sliceMs: number };
  /** A dead leader's lease lapses after this long and another replica takes over. */
  leaderTtlMs?: number;
  /** How often the leader samples fleet gauges (agents by status, queue depths). */
  observeEveryMs?: number;
  /** The session agents' heartbeat interval (profile `sessionAgent.heartbeatMs`): sizes the expiry margin. */
  sessionHeartbeatMs?: number;
  /** The clock session-agent silence is measured on (tests); `performance.now` by default. */
  monotonic?: () => number;
  /** How often every placed agent is checked against its host's record (default 60 s). */
  placementSweepMs?: number;
}

export const LEADER_LEASE_KEY = 'scheduler:leader';

/**
 * Turns time into commands (docs/design.md, section 1). Only the holder of the leader lease acts;
 * it never changes state itself, it only publishes commands the engine decides on.
 */
/** See `SchedulerOptions.republishMs`. */
const REPUBLISH_MS = 10_000;

export class Scheduler {
  readonly owner = `scheduler-${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private timer?: NodeJS.Timeout;
  private lease?: Lease;
  private ticking?: Promise<void>;
  /** End of the last window whose schedule occurrences were published; unset when not leader. */
  private lastTickAt?: Date;
  private lastObservedAt = 0;
  /**
   * Commands published recently, by messageId, with when. The read side shows their effect only
   * after the engine applied them; until then every tick would find the same command due again.
   * Its id names the agent's version, so a command for a new state goes out at once.
   */
  private readonly recentlyPublished = new Map<string, number>();
  /** Session-agent silence on this scheduler's own clock. */
  private readonly heartbeats: HeartbeatWatch;
  private readonly readSide: SchedulerReadSide;
  private readonly lostSessions: LostSessions;

  constructor(
    private readonly deps: { bus: Bus; store: Store; clock: Clock; logger: Logger; metrics?: DroverMetrics },
    private readonly options: SchedulerOptions,
  ) {
    const monotonic = options.monotonic ?? (() => performance.now());
    this.heartbeats = new HeartbeatWatch(options.sessionHeartbeatMs ?? 2_000, monotonic);
    this.readSide = new SchedulerReadSide(deps.store);
    this.lostSessions = new LostSessions(this.readSide, monotonic, options.placementSweepMs);
  }

  get isLeader(): boolean {
    return this.lease !== undefined;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    if (this.lease) await this.deps.store.locks.release(this.lease);
    this.lease = undefined;
    this.deps.metrics?.schedulerLeader.set(0);
    this.lastTickAt = undefined;
  }

  /** One pass: keep or take the lease, then publish what is due. Returns what it published. */
  async tick(): Promise<AgentCommand[]> {
    if (this.ticking) return [];
    let published: AgentCommand[] = [];
    this.ticking = (async () => {
      const monotonic = this.options.monotonic ?? (() => performance.now());
      const tickStarted = monotonic();
      if (!(await this.holdLeadership())) return;
      // Heartbeats reach the store through the bus: while this scheduler cannot reach the bus,
      // their absence proves nothing about the session agents.
      await this.deps.bus.ping();
      const now = this.deps.clock.now();
      const sessionAgents = await this.readSide.sessionAgents();
      // A tick that hung (the MongoDB driver holds an operation while its server is away) means
      // the store was unavailable to the persistence agent too: the heartbeats it could not
      // record meanwhile prove nothing.
      const tickMs = monotonic() - tickStarted;
      const forgotten = this.heartbeats.forgetIfStalled(sessionAgents, tickMs, this.stalledTickMs());
      if (forgotten.length > 0) {
        this.deps.logger.warn(
          { ms: Math.round(tickMs), sessionAgents: forgotten },
          'scheduler tick stalled past their margin: their heartbeats re-measured',
        );
      }
      this.heartbeats.observe(sessionAgents);
      // A new leader looks back two ticks, so an occurrence missed during failover still fires
      // (same ids as the old leader's) but older ones are not replayed.
      const since = this.lastTickAt ?? new Date(now.getTime() - 2 * this.options.tickMs);
      const candidates = await this.dueCommands(sessionAgents, now, since);
      const due = this.notRecentlyPublished(candidates, now.getTime());
      for (const command of due) {
        await this.deps.bus.publish(Exchanges.commands, command.type, command, { messageId: command.messageId });
        this.recentlyPublished.set(command.messageId, now.getTime());
      }
      if (due.length)
        this.deps.logger.info({ commands: due.map((c) => `${c.type} ${c.agentId}`) }, 'scheduler published');
      published = due;
      await this.observe(now);
      // Only after everything is out: a failed tick retries the same window next time.
      this.lastTickAt = now;
    })()
      .catch((error: Error) => {
        // A failed tick (bus, store or lease): silence measured so far may be our own outage.
        this.heartbeats.distrust();
        this.deps.logger.warn({ err: error.message }, 'scheduler tick failed');
      })
      .finally(() => (this.ticking = undefined));
    await this.ticking;
    return published;
  }

  /**
   * What is due now, each rule reading only the agents that may need it (`SchedulerReadSide`):
   * an idle fleet costs the session-agent records and a few index lookups that find nothing.
   */
  private async dueCommands(sessionAgents: SessionAgentRecord[], now: Date, since: Date): Promise<AgentCommand[]> {
    const { readSide } = this;
    const { startTimeoutMs, rotation } = this.options;
    const hosts = { sessionAgents };
    const commands = [
      ...(await this.lostSessions.find(sessionAgents, now, this.heartbeats)),
      ...recoverAgents({ ...hosts, agents: await readSide.dueRecoveries(now) }, now),
      ...timeOutStarts(
        { ...hosts, agents: await readSide.startingSince(new Date(now.getTime() - startTimeoutMs)) },
        now,
        startTimeoutMs,
      ),
    ];
    const free = freeSlots(hosts, now);
    // Whether anyone waits is one index lookup; how many, only then.
    const firstQueued = await readSide.longestQueued(Math.max(1, free));
    if (firstQueued.length > 0 && free > 0) {
      const starting = await readSide.countByStatus('starting');
      commands.push(...dequeueAgents({ ...hosts, agents: firstQueued }, now, starting));
    }
    if (rotation?.enabled && firstQueued.length > 0) {
      const counts = { waiting: await readSide.countByStatus('queued'), yielding: await readSide.countYielding() };
      const wanted = counts.waiting - free - counts.yielding;
      const longest = await readSide.longestRunning(new Date(now.getTime() - rotation.sliceMs), wanted);
      commands.push(...rotateAgents({ ...hosts, agents: longest }, now, rotation.sliceMs, counts));
    }
    commands.push(...runSchedules({ ...hosts, agents: await readSide.scheduled() }, now, since));
    return commands;
  }

  /**
   * A tick (leader lease, bus ping, session-agent records read) slower than this, and than a
   * host's expiry margin, is taken for an outage of the store or of this process: two seconds, or
   * a heartbeat interval if longer, so that an ordinary slow tick on a busy machine does not keep
   * resetting the heartbeat watch (which would keep a dead session agent from ever expiring).
   */
  private stalledTickMs(): number {
    return Math.max(2_000, this.options.sessionHeartbeatMs ?? 2_000);
  }

  /**
   * Leaves out what went out less than `republishMs` ago: on a slow store the engine may take a
   * while, and re-sending each tick (5 a second) would only add duplicates to its queue.
   */
  private notRecentlyPublished(candidates: AgentCommand[], now: number): AgentCommand[] {
    const republishMs = this.options.republishMs ?? REPUBLISH_MS;
    for (const [messageId, at] of this.recentlyPublished) {
      if (now - at >= republishMs) this.recentlyPublished.delete(messageId);
    }
    return candidates.filter((command) => !this.recentlyPublished.has(command.messageId));
  }

  private async observe(now: Date): Promise<void> {
    const { metrics, bus, store } = this.deps;
    if (!metrics || now.getTime() - this.lastObservedAt < (this.options.observeEveryMs ?? 5_000)) return;
    this.lastObservedAt = now.getTime();
    await observeFleet(bus, store, metrics);
  }

  private async holdLeadership(): Promise<boolean> {
    const ttl = this.options.leaderTtlMs ?? Math.max(3 * this.options.tickMs, 5_000);
    const { locks } = this.deps.store;
    const renewed = this.lease ? await locks.renew(this.lease, ttl) : undefined;
    const lease = renewed ?? (await locks.acquire(LEADER_LEASE_KEY, this.owner, ttl));
    if (lease && !this.lease) this.deps.logger.info({ owner: this.owner }, 'scheduler became leader');
    if (!lease && this.lease) this.deps.logger.warn({ owner: this.owner }, 'scheduler lost leadership');
    this.lease = lease;
    if (!lease) {
      this.lastTickAt = undefined;
      this.heartbeats.distrust();
      this.lostSessions.forget();
    }
    this.deps.metrics?.schedulerLeader.set(lease ? 1 : 0);
    return lease !== undefined;
  }
}
