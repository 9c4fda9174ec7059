import {
  describeZodError,
  jsonBoundProblem,
  Limits,
  type Activity,
  type PauseSession,
  type ResumeSession,
  type SessionRef,
  type StartSession,
  type StopSession,
} from '@drover/contracts';
import { abortableSleep, type AgentStorage, type BehaviorRegistry } from '@drover/behaviors';
import { openStartSecrets } from '@drover/behaviors/catalog';
import type { Bus } from '@drover/messaging';
import type { DroverMetrics } from '@drover/platform';
import type { Clock, EgressPolicy, Logger, SecretBox } from '@drover/runtime';
import type { BrowserLender } from './browser/browser-lender';
import { agentEgressPolicy, type ProfileEgress } from './egress/agent-egress';
import { DispatchTransport } from './dispatch/dispatch-transport';
import type { SessionWork } from './dispatch/session-work.port';
import { Heartbeats, type MonotonicClock } from './heartbeats/heartbeats';
import { SessionReporter } from './reports/session-reporter';
import { endSession, SessionSlots, type Session } from './slots/session-slots';

/**
 * Both times come from engine commits of one agent, which follow each other under its lock but
 * may be stamped by two engine hosts: a stop this much older than the start still counts, so
 * clock skew between engines never leaves a real stop unanswered.
 */
const STALE_STOP_TOLERANCE_MS = 1_000;

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
  /** Why there is no browser here, for the failure of a browser behaviour (default: Chromium not found). */
  browserUnavailable?: string;
  /** The run-profile's egress policy: what every session may reach, and what an agent may add. */
  egress: ProfileEgress;
  /** Per-agent key/value state for behaviours (through the persistence agent), written on behalf of one session. */
  storage?: (session: SessionRef) => AgentStorage;
  /** The clock leases are measured on (tests); `performance.now` by default. */
  monotonic?: MonotonicClock;
  /** Opens the sealed secrets of a start; a start carrying some fails without it. */
  secrets?: SecretBox;
}

/**
 * The session agent: hosts up to `maxConcurrentAgents` behaviour sessions in this process,
 * takes `session.start` work from the shared pending queue, `session.stop` from its own queue,
 * reports every step to the engine and heartbeats its lease.
 */
export class SessionHost implements SessionWork {
  private readonly slots: SessionSlots;
  private readonly reporter: SessionReporter;
  private readonly heartbeats: Heartbeats;
  private readonly transport: DispatchTransport;
  private closing = false;
  /** Consuming is paused while fenced and resumed on rejoin, one change after the other. */
  private intake: Promise<void> = Promise.resolve();

  constructor(private readonly options: SessionHostOptions) {
    const { bus, clock, logger, instanceId, metrics } = options;
    this.slots = new SessionSlots(options.maxConcurrentAgents, instanceId, metrics);
    this.reporter = new SessionReporter({ bus, clock, logger, instanceId });
    this.heartbeats = new Heartbeats({
      bus,
      clock,
      logger,
      instanceId,
      heartbeatMs: options.heartbeatMs,
      leaseMs: options.leaseMs,
      slots: this.slots,
      ...(metrics ? { metrics } : {}),
      onLapse: (lapse) => this.selfFence(lapse.renewedMsAgo),
      onRejoin: () => this.rejoin(),
      ...(options.monotonic ? { monotonic: options.monotonic } : {}),
    });
    this.transport = new DispatchTransport({
      bus,
      logger,
      instanceId,
      maxConcurrentAgents: options.maxConcurrentAgents,
      leaseMs: options.leaseMs,
    });
  }

  get instanceId(): string {
    return this.options.instanceId;
  }

  /** Agents hosted right now. */
  agentIds(): string[] {
    return this.slots.agentIds();
  }

  async start(): Promise<void> {
    // The lease first: work is taken only while a confirmed heartbeat holds it. Without one yet,
    // the host starts fenced and begins consuming when it rejoins.
    await this.heartbeats.start();
    if (this.heartbeats.holdsLease()) this.changeIntake('resume', () => this.transport.listen(this));
    await this.intake;
    this.options.logger.info({ instanceId: this.instanceId, capacity: this.slots.capacity }, 'session agent ready');
  }

  /**
   * Graceful stop: no new work, every behaviour aborted, no `session.stopped` reports, then a
   * goodbye heartbeat (`alive: false`) so the scheduler hands the agents off at once.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    this.heartbeats.stop();
    await this.intake;
    await this.transport.close();
    const sessions = this.slots.all();
    for (const session of sessions) this.end(session, { kind: 'shutdown' });
    await Promise.all(sessions.map((s) => s.done));
    this.slots.clear();
    await this.heartbeats.beat(false);
    await this.transport.removeOwnQueue();
  }

  /** A start from the shared queue: runs the behaviour, or reports why not (deferred, failed). */
  async startSession(work: StartSession): Promise<void> {
    const { agentId, attempt } = work;
    const existing = this.slots.get(agentId);
    if (existing?.attempt === attempt) return; // a redelivered start: already running
    if (!this.closing && !this.heartbeats.holdsLease()) {
      // Back to the queue (retried later, or taken by a host that holds its lease): a fenced
      // host cannot even tell the engine it defers, and must not start anything.
      throw new Error(`session agent ${this.instanceId} holds no heartbeat lease; not taking work`);
    }
    if (existing) this.end(existing, { kind: 'replaced' });

    if (this.closing || this.slots.isFull()) {
      const reason = `no free slot on session agent ${this.instanceId}`;
      return this.reporter.reportFor(work.correlationId, 'session.deferred', agentId, attempt, { reason });
    }
    const behavior = this.options.registry.get(work.behavior);
    if (!behavior) {
      return this.reporter.reportFor(work.correlationId, 'session.failed', agentId, attempt, {
        error: `behaviour ${work.behavior} is not available here`,
      });
    }
    let opened: { config: Record<string, unknown>; proxy?: string };
    try {
      // In memory only: the opened values go to the behaviour and the browser's proxy, nowhere else.
      opened = openStartSecrets(this.options.secrets, agentId, work);
    } catch (error) {
      const reason = `cannot open the start's sealed secrets: ${(error as Error).message}`;
      return this.reporter.reportFor(work.correlationId, 'session.failed', agentId, attempt, { error: reason });
    }
    const config = behavior.configSchema.safeParse(opened.config);
    if (!config.success) {
      const error = `invalid config: ${describeZodError(config.error)}`;
      return this.reporter.reportFor(work.correlationId, 'session.failed', agentId, attempt, { error });
    }

    const egress = agentEgressPolicy(this.options.egress, work.egress);
    if (typeof egress === 'string')
      return this.reporter.reportFor(work.correlationId, 'session.failed', agentId, attempt, { error: egress });

    const controller = new AbortController();
    const session: Session = {
      agentId,
      attempt,
      dispatchedAt: work.occurredAt,
      ...(work.correlationId ? { correlationId: work.correlationId } : {}),
      controller,
      done: Promise.resolve(),
    };
    const ref: SessionRef = { agentId, attempt, instanceId: this.instanceId };
    // The slot is taken before the (slow) browser context is ready, so a stop finds the session.
    this.slots.take(session);
    const logger = this.options.logger.child({
      agentId,
      attempt,
      ...(work.correlationId ? { correlationId: work.correlationId } : {}),
    });
    if (behavior.requires.includes('browser')) {
      const failure = await this.lendBrowser(session, ref, opened.proxy, egress);
      if (failure) {
        this.slots.free(session);
        return this.reporter.reportFor(work.correlationId, 'session.failed', agentId, attempt, { error: failure });
      }
    }
    if (!this.heartbeats.holdsLease() || session.cause?.kind === 'fenced') {
      // The lease lapsed while the browser context was being prepared: never report it started.
      session.done = this.finish(session);
      return;
    }
    await this.reporter.reportFor(work.correlationId, 'session.started', agentId, attempt, {});
    logger.info({ behavior: behavior.name, paused: work.paused === true }, 'session started');
    const storage = this.options.storage?.(ref);
    session.run = () => {
      // A pause aborts this run only; the session's own signal ends the session.
      const pauser = new AbortController();
      const signal = AbortSignal.any([controller.signal, pauser.signal]);
      session.pauser = pauser;
      session.paused = false;
      session.running = true;
      session.done = behavior
        .run({
          agentId,
          config: config.data,
          ...(opened.proxy ? { proxy: opened.proxy } : {}),
          egress,
          signal,
          logger,
          capabilities: {
            ...(session.lent ? { browser: session.lent.browser } : {}),
            ...(storage ? { storage } : {}),
          },
          sleep: (ms) => abortableSleep(ms, signal),
          report: (activity) => this.reportActivity(session, activity),
        })
        .then(
          () => this.afterRun(session),
          (error: Error) => this.afterRun(session, error),
        );
    };
    if (controller.signal.aborted) {
      session.done = this.finish(session); // ended while reporting started
    } else if (work.paused) {
      // Recovered while paused: the session holds its slot and context, the behaviour waits.
      session.paused = true;
      await this.reporter.reportFor(work.correlationId, 'session.activity', agentId, attempt, PAUSED);
    } else {
      session.run();
    }
  }

  /**
   * A behaviour run returned. Paused (and the session not ended meanwhile): the session stays,
   * waiting for a resume. Otherwise the session ends.
   */
  private afterRun(session: Session, error?: Error): Promise<void> {
    session.running = false;
    if (session.paused && !session.controller.signal.aborted) return Promise.resolve();
    return this.finish(session, error);
  }

  /** Ends the session; one that runs no behaviour (paused) is finished here, not by its run. */
  private end(session: Session, cause: Parameters<typeof endSession>[1]): void {
    endSession(session, cause);
    if (!session.running && session.run && !session.finishing) session.done = this.finish(session);
  }

  /** A pause on this instance's queue: aborts the behaviour, keeps the slot, context and cookies. */
  async pauseSession(pause: PauseSession): Promise<void> {
    await this.control(pause, 'pause', async (session) => {
      if (session.paused) return;
      session.paused = true;
      session.pauser?.abort();
      await session.done;
      if (session.controller.signal.aborted) return;
      await this.reporter.reportFor(
        pause.correlationId ?? session.correlationId,
        'session.activity',
        session.agentId,
        session.attempt,
        PAUSED,
      );
    });
  }

  /** A resume on this instance's queue: the behaviour runs again in the same browser context. */
  async resumeSession(resume: ResumeSession): Promise<void> {
    await this.control(resume, 'resume', async (session) => {
      if (!session.paused || session.running) return;
      await this.reporter.reportFor(
        resume.correlationId ?? session.correlationId,
        'session.activity',
        session.agentId,
        session.attempt,
        RESUMED,
      );
      session.run?.();
    });
  }

  /**
   * Applies a pause or resume to the session it was meant for, after the ones before it. One for
   * another session (an earlier attempt or run) or for an agent not hosted here is dropped: the
   * engine learns where the agent is from heartbeats and reports, not from this.
   */
  private async control(
    message: PauseSession | ResumeSession,
    what: string,
    apply: (session: Session) => Promise<void>,
  ): Promise<void> {
    const session = this.slots.get(message.agentId);
    const stale =
      !session ||
      !session.run ||
      session.attempt !== message.attempt ||
      session.controller.signal.aborted ||
      Date.parse(message.occurredAt) + STALE_STOP_TOLERANCE_MS < Date.parse(session.dispatchedAt);
    if (stale) {
      this.options.logger.info({ agentId: message.agentId, attempt: message.attempt }, `stale ${what} ignored`);
      return;
    }
    const previous = session.control ?? Promise.resolve();
    const next = previous.then(() => (session.controller.signal.aborted ? undefined : apply(session)));
    session.control = next.catch(() => undefined);
    await next;
    this.options.logger.info({ agentId: message.agentId, attempt: message.attempt }, `session ${what}d`);
  }

  /** A stop on this instance's queue: ends the session and waits until it has reported. */
  async stopSession(stop: StopSession): Promise<void> {
    const session = this.slots.get(stop.agentId);
    if (session && Date.parse(stop.occurredAt) + STALE_STOP_TOLERANCE_MS < Date.parse(session.dispatchedAt)) {
      // A stop the engine committed before the start of the session running here (say, queued
      // on this host's own queue while it was cut off): it was meant for an earlier session,
      // which is gone. Attempts cannot tell, since a new run starts again at attempt 1.
      this.options.logger.info({ agentId: stop.agentId, attempt: stop.attempt }, 'stale stop ignored');
      return;
    }
    if (!session) {
      // Nothing runs here (already ended, or lost in a restart): confirm it is stopped.
      const reason = 'no session on this host';
      return this.reporter.reportFor(stop.correlationId, 'session.stopped', stop.agentId, stop.attempt, { reason });
    }
    this.end(session, { kind: 'stop', ...(stop.reason ? { reason: stop.reason } : {}) });
    await session.done;
  }

  /** Records an activity the host itself observed for an agent it runs (browser rebuilt, proxy error). */
  noteActivity(agentId: string, activity: Activity): void {
    const session = this.slots.get(agentId);
    if (session) void this.reportActivity(session, activity);
  }

  /** Returns why no browser could be lent, or undefined when `session.lent` is set. */
  private async lendBrowser(
    session: Session,
    ref: SessionRef,
    proxy: string | undefined,
    egress: EgressPolicy,
  ): Promise<string | undefined> {
    const { browsers } = this.options;
    if (!browsers) {
      const why = this.options.browserUnavailable ?? 'is Chromium installed at CHROME_PATH?';
      return `no browser on session agent ${this.instanceId} (${why})`;
    }
    try {
      session.lent = await browsers.lend(ref, proxy, egress);
      return undefined;
    } catch (error) {
      this.options.logger.warn({ agentId: session.agentId, err: (error as Error).message }, 'browser not available');
      return `browser context failed: ${(error as Error).message}`;
    }
  }

  /** Reports how a session ended (unless it was handed off or fenced) and frees its slot. */
  private async finish(session: Session, error?: Error): Promise<void> {
    const { agentId, attempt, cause } = session;
    session.finishing = true;
    // Cookies are saved before the agent may start elsewhere; a fenced session's are not saved
    // at all, since the agent may already run elsewhere with newer ones.
    await session.lent
      ?.release({ saveCookies: cause?.kind !== 'fenced' })
      .catch((failure: Error) => this.options.logger.warn({ agentId, err: failure.message }, 'browser release failed'));
    this.slots.free(session);
    if (cause?.kind === 'shutdown' || cause?.kind === 'replaced' || cause?.kind === 'fenced') return;
    if (!this.heartbeats.holdsLease()) return; // fenced meanwhile: no more reports
    if (error && !cause) {
      this.options.logger.warn({ agentId, err: error.message }, 'session failed');
      await this.reporter.reportFor(session.correlationId, 'session.failed', agentId, attempt, {
        error: error.message.slice(0, 2000),
      });
    } else {
      const reason = cause?.kind === 'stop' ? cause.reason : 'behaviour finished';
      await this.reporter.reportFor(
        session.correlationId,
        'session.stopped',
        agentId,
        attempt,
        reason ? { reason } : {},
      );
    }
    if (!this.closing) await this.heartbeats.beat();
  }

  /**
   * The heartbeat lease lapsed: the scheduler may already have handed these agents to another
   * host, so every session ends now, silently (no report, no cookie save), and its browser
   * context closes at once rather than when the behaviour notices its signal.
   */
  private selfFence(renewedMsAgo: number | undefined): void {
    const sessions = this.slots.all();
    if (renewedMsAgo === undefined) {
      this.options.logger.warn(
        { instanceId: this.instanceId },
        'no heartbeat confirmed yet: taking no work until one is',
      );
      return;
    }
    this.options.logger.error(
      {
        instanceId: this.instanceId,
        leaseMs: this.options.leaseMs,
        renewedMsAgo,
        aborted: sessions.map((s) => `${s.agentId}#${s.attempt}`),
      },
      'heartbeat lease lapsed: session agent self-fenced, every hosted session aborted',
    );
    for (const session of sessions) {
      this.end(session, { kind: 'fenced' });
      void session.lent?.release({ saveCookies: false }).catch(() => undefined);
    }
    // Work left in the shared queue goes to hosts that hold their lease, instead of being
    // refused here until its delivery limit dead-letters it.
    this.changeIntake('pause', () => this.transport.close());
  }

  /** A confirmed heartbeat after a fence: take work again, with every slot the fence freed. */
  private rejoin(): void {
    if (this.closing) return;
    this.options.logger.warn({ instanceId: this.instanceId, hosted: this.slots.agentIds() }, 'session agent rejoined');
    this.changeIntake('resume', () => this.transport.listen(this));
  }

  private changeIntake(change: 'pause' | 'resume', apply: () => Promise<void>): void {
    this.intake = this.intake
      .then(() => (this.closing ? undefined : apply()))
      .catch((error: Error) =>
        this.options.logger.warn({ err: error.message, change }, 'dispatch intake change failed'),
      );
  }

  private async reportActivity(session: Session, activity: Activity): Promise<void> {
    if (session.controller.signal.aborted && session.cause?.kind !== 'stop') return;
    if (session.paused) return; // the run is being aborted for a pause: it acts no more
    if (!this.heartbeats.holdsLease()) return; // fenced: the session is being aborted
    await this.reporter.reportFor(
      session.correlationId,
      'session.activity',
      session.agentId,
      session.attempt,
      withinLimits(activity),
    );
  }
}

/** What the host reports when an agent's behaviour stops for a pause, and when it runs again. */
const PAUSED: Activity = {
  kind: 'session.paused',
  ok: true,
  message: 'behaviour paused; session, context and cookies kept',
};
const RESUMED: Activity = { kind: 'session.resumed', ok: true, message: 'behaviour resumed in the same session' };

/**
 * A behaviour's activity cut to what the contract carries (`Limits`): too large details are
 * replaced by a note rather than the whole report being refused by the engine and the read side.
 */
export function withinLimits(activity: Activity): Activity {
  const problem = activity.details && jsonBoundProblem(activity.details, Limits.activityDetailsBytes);
  const max = Limits.activityMessageChars;
  const message = activity.message && activity.message.length > max ? activity.message.slice(0, max) : activity.message;
  return {
    ...activity,
    ...(message !== undefined ? { message } : {}),
    ...(problem ? { details: { omitted: `details ${problem}` } } : {}),
  };
}
