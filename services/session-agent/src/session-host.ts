import { randomUUID } from 'node:crypto';
import {
  Exchanges,
  RoutingKeys,
  SessionDispatch,
  type Activity,
  type SessionHeartbeat,
  type StartSession,
  type StopSession,
} from '@drover/contracts';
import { abortableSleep, type AgentStorage, type BehaviorRegistry } from '@drover/behaviors';
import type { BrowserLender, LentBrowser } from './browser/browser-lender';
import type { INestMicroservice } from '@nestjs/common';
import { deadLetter, Queues, sessionAgentQueue, type Bus, type Delivery, type Outcome } from '@drover/messaging';
import { listenOnBus } from '@drover/messaging/nest';
import { OWN_QUEUE_PATTERN } from './own-queue';
import { SessionModule } from './session.module';
import type { DroverMetrics } from '@drover/platform';
import type { Clock, Logger } from '@drover/runtime';

export interface SessionHostOptions {
  bus: Bus;
  clock: Clock;
  logger: Logger;
  registry: BehaviorRegistry;
  instanceId: string;
  maxConcurrentAgents: number;
  heartbeatMs: number;
  leaseMs: number;
  metrics?: DroverMetrics;
  /** Lends browser contexts to browser behaviours; absent on hosts without Chromium. */
  browsers?: BrowserLender;
  /** Per-agent key/value state for behaviours (through the persistence agent). */
  storage?: (agentId: string) => AgentStorage;
}

/** Why a session's signal fired: a stop is reported, a shutdown hands the agent off silently. */
type EndCause = { kind: 'stop'; reason?: string } | { kind: 'shutdown' } | { kind: 'replaced' };

interface Session {
  agentId: string;
  attempt: number;
  controller: AbortController;
  lent?: LentBrowser;
  cause?: EndCause;
  done: Promise<void>;
}

type ReportType = 'session.started' | 'session.stopped' | 'session.failed' | 'session.deferred' | 'session.activity';

/**
 * The session agent: hosts up to `maxConcurrentAgents` behaviour sessions in this process,
 * takes `session.start` work from the shared pending queue, `session.stop` from its own queue,
 * reports every step to the engine and heartbeats its lease.
 */
export class SessionHost {
  private readonly sessions = new Map<string, Session>();
  private app?: INestMicroservice;
  private heartbeatTimer?: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly options: SessionHostOptions) {}

  get instanceId(): string {
    return this.options.instanceId;
  }

  /** Agents hosted right now. */
  agentIds(): string[] {
    return [...this.sessions.keys()];
  }

  async start(): Promise<void> {
    const { bus, instanceId } = this.options;
    const own = sessionAgentQueue(instanceId);
    await bus.declareQueue(own);
    this.app = await listenOnBus(bus, SessionModule.forRoot(this), [
      { name: own.name, pattern: OWN_QUEUE_PATTERN, prefetch: 16 },
      // A few starts at once (browser contexts take a while); a slot is taken as a start
      // arrives, so a full host defers instead of hoarding work.
      { name: Queues.pendingSessions, prefetch: Math.min(4, this.options.maxConcurrentAgents) },
    ]);
    await this.heartbeat();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.options.heartbeatMs);
    this.heartbeatTimer.unref();
    this.options.logger.info({ instanceId, capacity: this.options.maxConcurrentAgents }, 'session agent ready');
  }

  /**
   * Graceful stop: no new work, every behaviour aborted, no `session.stopped` reports, then a
   * goodbye heartbeat (`alive: false`) so the scheduler hands the agents off at once.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeatTimer);
    await this.app?.close();
    this.app = undefined;
    const sessions = [...this.sessions.values()];
    for (const session of sessions) this.end(session, { kind: 'shutdown' });
    await Promise.all(sessions.map((s) => s.done));
    this.sessions.clear();
    await this.heartbeat(false);
    await this.options.bus.deleteQueue(sessionAgentQueue(this.options.instanceId).name).catch(() => undefined);
  }

  /** One dispatch message: a start from the shared queue or a stop on this instance's queue. */
  async handle(delivery: Delivery): Promise<Outcome | void> {
    const parsed = SessionDispatch.safeParse(delivery.body);
    if (!parsed.success) {
      const reason = `invalid dispatch: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
      this.options.logger.warn({ messageId: delivery.messageId, reason }, 'dead-lettering dispatch');
      return deadLetter(reason);
    }
    if (parsed.data.type === 'session.start') await this.startSession(parsed.data);
    else await this.stopSession(parsed.data);
  }

  private async startSession(work: StartSession): Promise<void> {
    const { agentId, attempt } = work;
    const existing = this.sessions.get(agentId);
    if (existing?.attempt === attempt) return; // a redelivered start: already running
    if (existing) this.end(existing, { kind: 'replaced' });

    if (this.closing || this.sessions.size >= this.options.maxConcurrentAgents) {
      const reason = `no free slot on session agent ${this.instanceId}`;
      return this.report('session.deferred', agentId, attempt, { reason });
    }
    const behavior = this.options.registry.get(work.behavior);
    if (!behavior) {
      return this.report('session.failed', agentId, attempt, {
        error: `behaviour ${work.behavior} is not available here`,
      });
    }
    const config = behavior.configSchema.safeParse(work.config);
    if (!config.success) {
      return this.report('session.failed', agentId, attempt, { error: `invalid config: ${config.error.message}` });
    }

    const controller = new AbortController();
    const session: Session = { agentId, attempt, controller, done: Promise.resolve() };
    // The slot is taken before the (slow) browser context is ready, so a stop finds the session.
    this.sessions.set(agentId, session);
    this.options.metrics?.sessionsActive.set({ instance: this.instanceId }, this.sessions.size);
    const logger = this.options.logger.child({ agentId, attempt });
    if (behavior.requires.includes('browser')) {
      const failure = await this.lendBrowser(session, work.proxy);
      if (failure) {
        this.sessions.delete(agentId);
        return this.report('session.failed', agentId, attempt, { error: failure });
      }
    }
    await this.report('session.started', agentId, attempt, {});
    logger.info({ behavior: behavior.name }, 'session started');
    const storage = this.options.storage?.(agentId);
    session.done = behavior
      .run({
        agentId,
        config: config.data,
        ...(work.proxy ? { proxy: work.proxy } : {}),
        signal: controller.signal,
        logger,
        capabilities: {
          ...(session.lent ? { browser: session.lent.browser } : {}),
          ...(storage ? { storage } : {}),
        },
        sleep: (ms) => abortableSleep(ms, controller.signal),
        report: (activity) => this.reportActivity(session, activity),
      })
      .then(
        () => this.finish(session),
        (error: Error) => this.finish(session, error),
      );
  }

  /** Returns why no browser could be lent, or undefined when `session.lent` is set. */
  private async lendBrowser(session: Session, proxy: string | undefined): Promise<string | undefined> {
    const { browsers } = this.options;
    if (!browsers) return `no browser on session agent ${this.instanceId} (is Chromium installed at CHROME_PATH?)`;
    try {
      session.lent = await browsers.lend(session.agentId, proxy);
      return undefined;
    } catch (error) {
      this.options.logger.warn({ agentId: session.agentId, err: (error as Error).message }, 'browser not available');
      return `browser context failed: ${(error as Error).message}`;
    }
  }

  /** Records an activity the host itself observed for an agent it runs (browser rebuilt, proxy error). */
  noteActivity(agentId: string, activity: Activity): void {
    const session = this.sessions.get(agentId);
    if (session) void this.reportActivity(session, activity);
  }

  /** Reports how a session ended (unless it was handed off) and frees its slot. */
  private async finish(session: Session, error?: Error): Promise<void> {
    const { agentId, attempt, cause } = session;
    // Cookies are saved before the agent may start elsewhere.
    await session.lent
      ?.release()
      .catch((failure: Error) => this.options.logger.warn({ agentId, err: failure.message }, 'browser release failed'));
    if (this.sessions.get(agentId) === session) this.sessions.delete(agentId);
    this.options.metrics?.sessionsActive.set({ instance: this.instanceId }, this.sessions.size);
    if (cause?.kind === 'shutdown' || cause?.kind === 'replaced') return;
    if (error && !cause) {
      this.options.logger.warn({ agentId, err: error.message }, 'session failed');
      await this.report('session.failed', agentId, attempt, { error: error.message.slice(0, 2000) });
    } else {
      const reason = cause?.kind === 'stop' ? cause.reason : 'behaviour finished';
      await this.report('session.stopped', agentId, attempt, reason ? { reason } : {});
    }
    if (!this.closing) await this.heartbeat();
  }

  private async stopSession(stop: StopSession): Promise<void> {
    const session = this.sessions.get(stop.agentId);
    if (!session) {
      // Nothing runs here (already ended, or lost in a restart): confirm it is stopped.
      return this.report('session.stopped', stop.agentId, stop.attempt, { reason: 'no session on this host' });
    }
    this.end(session, { kind: 'stop', ...(stop.reason ? { reason: stop.reason } : {}) });
    await session.done;
  }

  private end(session: Session, cause: EndCause): void {
    session.cause ??= cause;
    session.controller.abort();
  }

  private async reportActivity(session: Session, activity: Activity): Promise<void> {
    if (session.controller.signal.aborted && session.cause?.kind !== 'stop') return;
    await this.report('session.activity', session.agentId, session.attempt, activity);
  }

  private async report(type: ReportType, agentId: string, attempt: number, payload: object): Promise<void> {
    const messageId = randomUUID();
    const body = {
      messageId,
      type,
      agentId,
      instanceId: this.instanceId,
      attempt,
      payload,
      occurredAt: this.options.clock.now().toISOString(),
    };
    try {
      await this.options.bus.publish(Exchanges.reports, type, body, { messageId });
    } catch (error) {
      this.options.logger.warn({ agentId, type, err: (error as Error).message }, 'report not published');
    }
  }

  private async heartbeat(alive = true): Promise<void> {
    this.options.metrics?.sessionsActive.set({ instance: this.instanceId }, this.sessions.size);
    this.options.metrics?.sessionCapacity.set(
      { instance: this.instanceId },
      alive ? this.options.maxConcurrentAgents : 0,
    );
    const messageId = randomUUID();
    const beat: SessionHeartbeat = {
      messageId,
      type: 'session.heartbeat',
      instanceId: this.instanceId,
      capacity: this.options.maxConcurrentAgents,
      agentIds: this.agentIds(),
      leaseMs: this.options.leaseMs,
      alive,
      occurredAt: this.options.clock.now().toISOString(),
    };
    try {
      await this.options.bus.publish(Exchanges.reports, RoutingKeys.heartbeat, beat, { messageId });
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'heartbeat not published');
    }
  }
}
