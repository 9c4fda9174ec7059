import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, type Browser, type BrowserContext, type CookieData, type Page } from 'puppeteer-core';
import { withTimeout, type Logger } from '@drover/runtime';
import { headlessModeFor, resolveChromePath } from './chromium';
import { toCookieData } from './cookies';
import { LocalProxy, type ProxyFailure } from './local-proxy';
import { isAlive, killAll, processTree, rssMb, waitGone } from './process-tree';

export type { CookieData, Page } from 'puppeteer-core';

/** The Chromium flags every browser is launched with (on top of puppeteer's defaults). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export interface BrowserHostOptions {
  /** Default: `CHROME_PATH`, else the lightest installed Chromium (`resolveChromePath`). */
  chromePath?: string;
  logger: Logger;
  /** Recycle the browser once this many contexts were created on it (default 200). */
  maxContextsPerBrowser?: number;
  /** Recycle when the browser's process-tree RSS passes this many MB (default 1500). */
  maxBrowserRssMb?: number;
  /** How often the RSS is checked (default 10 000 ms). */
  checkEveryMs?: number;
  /** How often every session's cookie snapshot is refreshed (default 15 000 ms). */
  snapshotEveryMs?: number;
  /** Hosts that skip a session's proxy (Chromium's `--proxy-bypass-list` syntax); `['<-loopback>']` proxies loopback too. */
  proxyBypassList?: string[];
  /** A session was moved to a new browser. */
  onRebuilt?: (agentId: string, reason: 'recycle' | 'crash') => void;
  /** The agent's upstream proxy failed; the message never holds the credentials. */
  onProxyError?: (agentId: string, failure: ProxyFailure) => void;
}

export interface SessionSpec {
  agentId: string;
  /** `http://user:pass@host:port`, `https://...` or `socks5://...`; Chromium only ever sees a local endpoint. */
  proxy?: string;
  cookies?: CookieData[];
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

interface Instance {
  browser: Browser;
  pid?: number;
  userDataDir: string;
  contextsCreated: number;
  /** Set before we close it ourselves, so its `disconnected` is not a crash. */
  expectedClose: boolean;
  exited: Promise<void>;
}

interface SessionState {
  agentId: string;
  proxy?: LocalProxy;
  context?: BrowserContext;
  page?: Page;
  snapshot: CookieData[];
  closed: boolean;
}

const CLOSE_TIMEOUT_MS = 5_000;
const CDP_TIMEOUT_MS = 10_000;

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
  private instance?: Instance;
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
    const proxy = spec.proxy
      ? await LocalProxy.start(spec.proxy, (failure) => this.reportProxyError(agentId, failure))
      : undefined;
    const state: SessionState = {
      agentId,
      proxy,
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
        await this.attach(state, this.current());
        this.sessions.set(agentId, state);
      });
    } catch (error) {
      await proxy?.close().catch(() => undefined);
      throw error;
    }
    this.logger.info({ agentId, upstream: proxy?.upstreamRedacted, endpoint: proxy?.url }, 'browser session opened');
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
        await this.closeContext(state);
        await state.proxy?.close().catch(() => undefined);
      }
      this.sessions.clear();
      const instance = this.instance;
      this.instance = undefined;
      if (instance) await this.closeInstance(instance);
    });
    this.logger.info({ recycles: this.recycles, crashes: this.crashes }, 'browser host shut down');
  }

  // --- sessions -------------------------------------------------------------------------------------------------

  /** A healthy session's page is served at once; only repairs (attach, rebuild) queue. */
  private healthy(state: SessionState): boolean {
    return !state.closed && !this.rebuilding && !!state.context && !!this.instance?.browser.connected;
  }

  private async sessionPage(state: SessionState): Promise<Page> {
    if (this.healthy(state) && state.page && !state.page.isClosed()) return state.page;
    return this.exclusive(async () => {
      if (state.closed) throw new Error(`browser session for agent ${state.agentId} is closed`);
      this.assertRunning();
      await this.ensureBrowser();
      if (!state.context) await this.attach(state, this.current());
      if (!state.page || state.page.isClosed()) {
        if (!state.context) throw new Error(`no browser context for agent ${state.agentId}`);
        state.page = await state.context.newPage();
      }
      return state.page;
    });
  }

  private async sessionCookies(state: SessionState): Promise<CookieData[]> {
    if (state.closed || this.shuttingDown) return [...state.snapshot];
    if (this.healthy(state)) {
      await this.refreshSnapshot(state);
      return [...state.snapshot];
    }
    return this.exclusive(async () => {
      await this.refreshSnapshot(state);
      return [...state.snapshot];
    });
  }

  private async closeSession(state: SessionState): Promise<CookieData[]> {
    const close = async () => {
      if (state.closed) return [...state.snapshot];
      await this.refreshSnapshot(state);
      state.closed = true;
      this.sessions.delete(state.agentId);
      await this.closeContext(state);
      await state.proxy?.close().catch(() => undefined);
      this.logger.info({ agentId: state.agentId }, 'browser session closed');
      return [...state.snapshot];
    };
    // A stop must not wait behind other agents' work; only a running rebuild is waited for.
    return this.healthy(state) ? close() : this.exclusive(close);
  }

  /** Best effort: on failure (browser gone) the previous snapshot stays. */
  private async refreshSnapshot(state: SessionState): Promise<void> {
    if (state.closed || !state.context || !this.instance?.browser.connected) return;
    try {
      const cookies = await withTimeout(state.context.cookies(), CDP_TIMEOUT_MS, 'context.cookies()');
      state.snapshot = cookies.map(toCookieData);
    } catch (error) {
      this.logger.debug({ agentId: state.agentId, err: error }, 'cookie read failed; keeping the last snapshot');
    }
  }

  private async refreshSnapshots(): Promise<void> {
    for (const state of this.sessions.values()) await this.refreshSnapshot(state);
  }

  /** New context (same local proxy endpoint) on the given browser, cookies restored, one page. */
  private async attach(state: SessionState, instance: Instance): Promise<void> {
    const context = await instance.browser.createBrowserContext(
      state.proxy ? { proxyServer: state.proxy.url, proxyBypassList: this.options.proxyBypassList } : {},
    );
    instance.contextsCreated += 1;
    try {
      if (state.snapshot.length > 0) await context.setCookie(...state.snapshot);
      const page = await context.newPage();
      state.context = context;
      state.page = page;
    } catch (error) {
      await context.close().catch(() => undefined);
      throw error;
    }
  }

  private async closeContext(state: SessionState): Promise<void> {
    const context = state.context;
    state.context = undefined;
    state.page = undefined;
    if (context && !context.closed && context.browser().connected) {
      await withTimeout(context.close(), CDP_TIMEOUT_MS, 'context.close()').catch(() => undefined);
    }
  }

  private reportProxyError(agentId: string, failure: ProxyFailure): void {
    this.logger.warn({ agentId, errorClass: failure.errorClass, reason: failure.message }, 'upstream proxy failure');
    try {
      this.options.onProxyError?.(agentId, failure);
    } catch (error) {
      this.logger.error({ agentId, err: error }, 'onProxyError callback threw');
    }
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

  private current(): Instance {
    if (!this.instance) throw new Error('no browser running');
    return this.instance;
  }

  /** Inside a job: relaunch now if the browser died (or a previous relaunch failed). */
  private async ensureBrowser(): Promise<void> {
    if (!this.instance?.browser.connected) await this.rebuild('crash', 'browser not connected');
  }

  private async launch(): Promise<Instance> {
    const userDataDir = await mkdtemp(join(tmpdir(), 'drover-chromium-'));
    let browser: Browser;
    try {
      browser = await launch({
        executablePath: this.chromePath,
        headless: headlessModeFor(this.chromePath),
        userDataDir,
        args: [...CHROMIUM_ARGS],
        // CDP over a pipe: when this process dies, even by SIGKILL, the pipe closes and
        // Chromium exits with it, so a killed session agent leaves no browser behind.
        pipe: true,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    } catch (error) {
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
      throw error;
    }
    const child = browser.process();
    const instance: Instance = {
      browser,
      pid: child?.pid,
      userDataDir,
      contextsCreated: 0,
      expectedClose: false,
      exited: child ? exitOf(child) : Promise.resolve(),
    };
    browser.on('disconnected', () => this.onDisconnected(instance));
    this.logger.info({ browserPid: instance.pid, userDataDir }, 'chromium launched');
    return instance;
  }

  private onDisconnected(instance: Instance): void {
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
      for (const state of this.sessions.values()) await this.refreshSnapshot(state);
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
        await this.attach(state, next);
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
    if (old) await this.closeInstance(old);
    this.logger.info({ reason, browserPid: next.pid, sessions: this.sessions.size }, 'browser rebuilt');
  }

  /** Periodic: process-tree RSS over the limit -> recycle. */
  private checkMemory(): void {
    const instance = this.instance;
    if (this.checking || this.shuttingDown || !instance?.pid || !instance.browser.connected) return;
    const mb = rssMb(processTree(instance.pid));
    if (mb <= this.maxRssMb) return;
    this.checking = true;
    this.logger.warn(
      { browserPid: instance.pid, rssMb: Math.round(mb), limitMb: this.maxRssMb },
      'browser over its memory limit',
    );
    this.exclusive(async () => {
      if (this.instance === instance && !this.shuttingDown) await this.rebuild('recycle', `rss ${Math.round(mb)} MB`);
    })
      .catch((error: unknown) => this.logger.error({ err: error }, 'memory recycle failed'))
      .finally(() => {
        this.checking = false;
      });
  }

  /** Close politely, SIGKILL the process tree if that hangs, wait for every process to go, remove the profile. */
  private async closeInstance(instance: Instance): Promise<void> {
    instance.expectedClose = true;
    const pid = instance.pid;
    const tree = pid !== undefined && isAlive(pid) ? processTree(pid) : [];
    let closed = false;
    if (instance.browser.connected) {
      closed = await withTimeout(instance.browser.close(), CLOSE_TIMEOUT_MS, 'browser.close()').then(
        () => true,
        (error: unknown) => {
          this.logger.warn({ browserPid: pid, err: error }, 'browser.close() failed; killing the process tree');
          return false;
        },
      );
    }
    if (pid !== undefined) {
      if (!closed) {
        killGroup(pid);
        killAll(tree.filter(isAlive));
      }
      await withTimeout(instance.exited, CLOSE_TIMEOUT_MS, 'chromium exit').catch(() => {
        killGroup(pid);
        return withTimeout(instance.exited, CLOSE_TIMEOUT_MS, 'chromium exit after SIGKILL');
      });
      // Children the browser left behind (reparented; still in its process group).
      const leftovers = processTree(pid).filter(isAlive);
      if (leftovers.length > 0) {
        killGroup(pid);
        killAll(leftovers);
      }
      const survivors = await waitGone([...new Set([...tree, ...leftovers])], CLOSE_TIMEOUT_MS);
      if (survivors.length > 0)
        this.logger.error({ browserPid: pid, survivors }, 'chromium processes survived SIGKILL');
    }
    await rm(instance.userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(
      (error: unknown) => this.logger.warn({ dir: instance.userDataDir, err: error }, 'could not remove the profile'),
    );
    this.logger.info({ browserPid: pid }, 'chromium closed');
  }
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Puppeteer launches Chromium detached, so its pid is also its process group id. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // group already empty
  }
}
