import type { CookieData, Page } from 'puppeteer';
import type { EgressPolicy, Logger } from '@drover/runtime';
import { attachContext, closeContext, refreshSnapshot, type SessionState } from './browser-contexts';
import { closeInstance, launchInstance, type BrowserInstance } from './browser-instance';
import { resolveChromePath } from './chromium';
import { toCookieData } from './cookies';
import type { EgressRefusal, ProxyFailure } from './local-proxy';
import { guardNavigation } from './navigation-guard';
import { processTree, pssMb } from './process-tree';
import { openProxyEndpoint } from './session-proxy';

export type { CookieData, Page } from 'puppeteer';
export { CHROMIUM_ARGS } from './browser-instance';

export interface BrowserHostOptions {
  /** Default: `CHROME_PATH`, else the lightest installed Chromium (`resolveChromePath`). */
  chromePath?: string;
  logger: Logger;
  /** Run Chromium without its sandbox (`CHROME_NO_SANDBOX`): only where it cannot work (as root). Default false. */
  noSandbox?: boolean;
  /** Recycle the browser once this many contexts were created on it (default 200). */
  maxContextsPerBrowser?: number;
  /**
   * Recycle when the browser's memory passes this many MB (default 1500): the PSS of its process
   * tree, in which pages its processes share count once (their summed RSS would count them once
   * per process and recycle a browser of ten busy contexts).
   */
  maxBrowserRssMb?: number;
  /** How often the memory is checked (default 10 000 ms). */
  checkEveryMs?: number;
  /** How often every session's cookie snapshot is refreshed (default 15 000 ms). */
  snapshotEveryMs?: number;
  /** A session was moved to a new browser. */
  onRebuilt?: (agentId: string, reason: 'recycle' | 'crash') => void;
  /** The agent's upstream proxy failed; the message never holds the credentials. */
  onProxyError?: (agentId: string, failure: ProxyFailure) => void;
  /** The agent's egress policy refused a request of its context (a navigation, redirect or subresource). */
  onEgressRefused?: (agentId: string, refusal: EgressRefusal) => void;
}

export interface SessionSpec {
  agentId: string;
  /** `http://user:pass@host:port`, `https://...` or `socks5://...`; Chromium only ever sees a local endpoint. */
  proxy?: string;
  cookies?: CookieData[];
  /** Where the context may connect: enforced by its local proxy endpoint on every request, and by `page.goto`. */
  egress: EgressPolicy;
}

export interface BrowserSession {
  readonly agentId: string;
  /** The agent's current page (a new one after a recycle/crash rebuild). */
  page(): Promise<Page>;
  /** Current cookies of the agent's context (the last snapshot if the browser is gone). */
  cookies(): Promise<CookieData[]>;
  /** Final cookies; closes the context and the agent's local proxy endpoint. */
  close(): Promise<CookieData[]>;
}

export interface BrowserHostStats {
  browserPid?: number;
  sessions: number;
  contextsOnBrowser: number;
  recycles: number;
  crashes: number;
}

/**
 * One headless Chromium shared by many agents, each in its own BrowserContext (own cookies, own proxy endpoint).
 * Recycles the browser on context count / memory, rebuilds every session after a crash, never leaves processes behind.
 * Browser swaps, session opens/closes and cookie refreshes run one at a time.
 */
export class BrowserHost {
  private readonly chromePath: string;
  private readonly logger: Logger;
  private readonly maxContexts: number;
  private readonly maxRssMb: number;
  private readonly sessions = new Map<string, SessionState>();
  private instance?: BrowserInstance;
  private queue: Promise<unknown> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private recycles = 0;
  private crashes = 0;
  private started = false;
  /** True while a recycle or crash rebuild moves the sessions: pages and cookies then wait for it. */
  private rebuilding = false;
  private shuttingDown?: Promise<void>;
  private checking = false;

  constructor(private readonly options: BrowserHostOptions) {
    this.chromePath = options.chromePath ?? resolveChromePath();
    this.logger = options.logger;
    this.maxContexts = options.maxContextsPerBrowser ?? 200;
    this.maxRssMb = options.maxBrowserRssMb ?? 1500;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('BrowserHost already started');
    this.started = true;
    await this.exclusive(async () => {
      this.instance = await this.launch();
    });
    this.timers.push(
      setInterval(() => this.checkMemory(), this.options.checkEveryMs ?? 10_000),
      setInterval(() => {
        if (this.sessions.size > 0 && this.instance?.browser.connected) {
          (this.rebuilding ? this.exclusive(() => this.refreshSnapshots()) : this.refreshSnapshots()).catch(
            (error: unknown) => this.logger.warn({ err: error }, 'cookie snapshot refresh failed'),
          );
        }
      }, this.options.snapshotEveryMs ?? 15_000),
    );
    for (const timer of this.timers) timer.unref();
  }

  async openSession(spec: SessionSpec): Promise<BrowserSession> {
    this.assertRunning();
    const { agentId } = spec;
    if (this.sessions.has(agentId)) throw new Error(`a browser session for agent ${agentId} is already open`);
    const proxy = await openProxyEndpoint(agentId, spec.proxy, spec.egress, this.logger, this.options);
    const state: SessionState = {
      agentId,
      proxy,
      egress: spec.egress,
      snapshot: (spec.cookies ?? []).map(toCookieData),
      closed: false,
    };
    try {
      await this.exclusive(async () => {
        this.assertRunning();
        if (this.sessions.has(agentId)) throw new Error(`a browser session for agent ${agentId} is already open`);
        await this.ensureBrowser();
        const instance = this.current();
        if (instance.contextsCreated >= this.maxContexts) {
          await this.rebuild('recycle', `${instance.contextsCreated} contexts created`);
        }
        await attachContext(state, this.current());
        this.sessions.set(agentId, state);
      });
    } catch (error) {
      await proxy.close().catch(() => undefined);
      throw error;
    }
    this.logger.info({ agentId, upstream: proxy.upstreamRedacted, endpoint: proxy.url }, 'browser session opened');
    return {
      agentId,
      page: () => this.sessionPage(state),
      cookies: () => this.sessionCookies(state),
      close: () => this.closeSession(state),
    };
  }

  stats(): BrowserHostStats {
    return {
      browserPid: this.instance?.pid,
      sessions: this.sessions.size,
      contextsOnBrowser: this.instance?.contextsCreated ?? 0,
      recycles: this.recycles,
      crashes: this.crashes,
    };
  }

  /** Moves every session to a fresh browser (cookies carried over), then closes the old one. */
  async recycle(reason = 'requested'): Promise<void> {
    this.assertRunning();
    await this.exclusive(() => this.rebuild('recycle', reason));
  }

  async shutdown(): Promise<void> {
    this.shuttingDown ??= this.doShutdown();
    return this.shuttingDown;
  }

  private async doShutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.exclusive(async () => {
      for (const state of this.sessions.values()) {
        state.closed = true;
        await closeContext(state);
        await state.proxy.close().catch(() => undefined);
      }
      this.sessions.clear();
      const instance = this.instance;
      this.instance = undefined;
      if (instance) await closeInstance(instance, this.logger);
    });
    this.logger.info({ recycles: this.recycles, crashes: this.crashes }, 'browser host shut down');
  }

  // --- sessions -------------------------------------------------------------------------------------------------

  /** A healthy session's page is served at once; only repairs (attach, rebuild) queue. */
  private healthy(state: SessionState): boolean {
    return !state.closed && !this.rebuilding && !!state.context && !!this.instance?.browser.connected;
  }

  private async sessionPage(state: SessionState): Promise<Page> {
    if (this.healthy(state) && state.page && !state.page.isClosed()) return guardNavigation(state.page, state.egress);
    return this.exclusive(async () => {
      if (state.closed) throw new Error(`browser session for agent ${state.agentId} is closed`);
      this.assertRunning();
      await this.ensureBrowser();
      if (!state.context) await attachContext(state, this.current());
      if (!state.page || state.page.isClosed()) {
        if (!state.context) throw new Error(`no browser context for agent ${state.agentId}`);
        state.page = await state.context.newPage();
      }
      return guardNavigation(state.page, state.egress);
    });
  }

  private async sessionCookies(state: SessionState): Promise<CookieData[]> {
    if (state.closed || this.shuttingDown) return [...state.snapshot];
    if (this.healthy(state)) {
      await refreshSnapshot(state, this.logger);
      return [...state.snapshot];
    }
    return this.exclusive(async () => {
      await refreshSnapshot(state, this.logger);
      return [...state.snapshot];
    });
  }

  private async closeSession(state: SessionState): Promise<CookieData[]> {
    const close = async () => {
      if (state.closed) return [...state.snapshot];
      await refreshSnapshot(state, this.logger);
      state.closed = true;
      this.sessions.delete(state.agentId);
      await closeContext(state);
      await state.proxy.close().catch(() => undefined);
      this.logger.info({ agentId: state.agentId }, 'browser session closed');
      return [...state.snapshot];
    };
    // A stop must not wait behind other agents' work; only a running rebuild is waited for.
    return this.healthy(state) ? close() : this.exclusive(close);
  }

  private async refreshSnapshots(): Promise<void> {
    for (const state of this.sessions.values()) await refreshSnapshot(state, this.logger);
  }

  // --- browsers -------------------------------------------------------------------------------------------------

  /** Runs the jobs one at a time, in call order; a failed job does not block the next. */
  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private assertRunning(): void {
    if (!this.started) throw new Error('BrowserHost not started');
    if (this.shuttingDown) throw new Error('BrowserHost is shutting down');
  }

  private current(): BrowserInstance {
    if (!this.instance) throw new Error('no browser running');
    return this.instance;
  }

  /** Inside a job: relaunch now if the browser died (or a previous relaunch failed). */
  private async ensureBrowser(): Promise<void> {
    if (!this.instance?.browser.connected) await this.rebuild('crash', 'browser not connected');
  }

  private launch(): Promise<BrowserInstance> {
    return launchInstance(
      this.chromePath,
      this.logger,
      (instance) => this.onDisconnected(instance),
      this.options.noSandbox ?? false,
    );
  }

  private onDisconnected(instance: BrowserInstance): void {
    if (instance.expectedClose || this.shuttingDown || instance !== this.instance) return;
    this.logger.error({ browserPid: instance.pid, sessions: this.sessions.size }, 'chromium disconnected unexpectedly');
    this.exclusive(async () => {
      // An earlier job may already have replaced it (ensureBrowser).
      if (this.instance === instance && !this.shuttingDown) await this.rebuild('crash', 'disconnected');
    }).catch((error: unknown) => this.logger.error({ err: error }, 'rebuild after the crash failed'));
  }

  /**
   * Inside a job. Launches a new browser, moves every open session onto it (recycle: fresh cookies from the old
   * context; crash: the last snapshot), then closes the old browser.
   */
  private async rebuild(reason: 'recycle' | 'crash', detail: string): Promise<void> {
    this.rebuilding = true;
    try {
      await this.moveSessions(reason, detail);
    } finally {
      this.rebuilding = false;
    }
  }

  private async moveSessions(reason: 'recycle' | 'crash', detail: string): Promise<void> {
    const old = this.instance;
    if (reason === 'crash' && old) {
      if (!old.expectedClose) this.crashes += 1;
      old.expectedClose = true;
    }
    if (reason === 'recycle') {
      for (const state of this.sessions.values()) await refreshSnapshot(state, this.logger);
    }
    this.logger.warn({ reason, detail, oldPid: old?.pid, sessions: this.sessions.size }, 'rebuilding the browser');
    // If this throws, the old browser stays current (a dead one is relaunched by the next job's ensureBrowser).
    const next = await this.launch();
    if (old) old.expectedClose = true;
    if (reason === 'recycle') this.recycles += 1;
    this.instance = next;
    for (const state of this.sessions.values()) {
      state.context = undefined;
      state.page = undefined;
      try {
        await attachContext(state, next);
      } catch (error) {
        // page() attaches it again later.
        this.logger.error({ agentId: state.agentId, err: error }, 'could not move the session to the new browser');
        continue;
      }
      try {
        this.options.onRebuilt?.(state.agentId, reason);
      } catch (error) {
        this.logger.error({ agentId: state.agentId, err: error }, 'onRebuilt callback threw');
      }
    }
    if (old) await closeInstance(old, this.logger);
    this.logger.info({ reason, browserPid: next.pid, sessions: this.sessions.size }, 'browser rebuilt');
  }

  /** Periodic: the browser's memory (its process tree's PSS) over the limit -> recycle. */
  private checkMemory(): void {
    const instance = this.instance;
    if (this.checking || this.shuttingDown || !instance?.pid || !instance.browser.connected) return;
    const mb = pssMb(processTree(instance.pid));
    if (mb <= this.maxRssMb) return;
    this.checking = true;
    this.logger.warn(
      { browserPid: instance.pid, pssMb: Math.round(mb), limitMb: this.maxRssMb },
      'browser over its memory limit',
    );
    this.exclusive(async () => {
      if (this.instance === instance && !this.shuttingDown)
        await this.rebuild('recycle', `memory (PSS) ${Math.round(mb)} MB`);
    })
      .catch((error: unknown) => this.logger.error({ err: error }, 'memory recycle failed'))
      .finally(() => {
        this.checking = false;
      });
  }
}
