import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CookieData } from 'puppeteer';
import { Server as ProxyServer } from 'proxy-chain';
import { resolveChromePath } from '@drover/browser';
// The social-feed behaviour's own fixture site (its e2e tests run against it).
import { startFeedSite, type FeedSite } from '../../../libs/behaviors/src/social-feed/testing/feed-site';
import type { Counts, FleetAgent, FleetMessage, FleetMode, FleetSpec, ParentMessage } from './fleet-protocol';
import { treeMemory, treePids, type TreeMemory } from './memory';

/**
 * `npm run bench:sessions`: browser agents running the real social-feed behaviour against its
 * fixture site, hosted as the session agent hosts them, measured in one run against a baseline.
 *
 * (a) contexts: one session agent (one Chromium) with a context per agent, each behind its own
 *     proxy credentials and with its saved cookies. Warm start: from the agent's `session.start`
 *     to its first page of the feed (context + proxy endpoint + cookie restore + page load), the
 *     browser already up. Memory: PSS of the session agent's process tree (node + Chromium) per
 *     running agent, at the two sampling points after the last agent started; their ratio is
 *     the growth. Agents per GB from the later one.
 * (b) baseline: a session agent, and so a Chromium, per agent, same site and behaviour. Start:
 *     the same, plus the browser's launch. Memory per agent at the first sampling point.
 *
 * Each fleet runs in a process of its own (`fleet.ts`), so its memory is the session agent's
 * alone: the fixture site and the upstream proxy run here. Figures are printed, never asserted;
 * the goals are shown next to them for the reader.
 */
const CHROME_PATH = resolveChromePath();
const AGENTS = positiveInt('BENCH_AGENTS', 100);
const BASELINE_AGENTS = positiveInt('BENCH_BASELINE_AGENTS', 5);
const [FIRST_MINUTES, SECOND_MINUTES] = samplingMinutes(process.env.BENCH_MINUTES ?? '1,10');
const RUN_EVERY_MS = positiveInt('BENCH_RUN_EVERY_MS', 30_000);
/** Recycling by memory would move the agents to a new browser mid-measurement; set it to see that happen. */
const BROWSER_MAX_RSS_MB = positiveInt('BROWSER_MAX_RSS_MB', 1_000_000);
const POSTS = 20;
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;
const GOALS = { agentsPerGb: 50, warmP95Ms: 100 };
const began = Date.now();

interface Sample {
  minutes: number;
  running: number;
  memory: TreeMemory;
  counts: Counts;
}

interface Phase {
  mode: FleetMode;
  agents: number;
  startsMs: number[];
  /** Up to each agent's `session.started`: context, proxy endpoint, cookies (baseline: and the browser). */
  sessionStartedMs: number[];
  failedStarts: string[];
  /** Starts that logged in instead of reusing the restored cookies. */
  loggedIn: number;
  /** Contexts: the session agent and its browser with no agent. */
  idle?: TreeMemory;
  samples: Sample[];
  /** Logins by the agents themselves and proxy users seen, from the site's and the proxy's side. */
  siteLogins?: number;
  proxyUsers?: number;
  error?: string;
}

/** Requests per proxy user, as the upstream proxy saw them. */
const proxyUsers = new Map<string, number>();
let interrupted = false;
const children = new Set<ChildProcess>();

async function main(): Promise<void> {
  if (!existsSync(CHROME_PATH)) throw new Error(`no Chromium at ${CHROME_PATH} (set CHROME_PATH)`);
  process.on('SIGINT', () => {
    interrupted = true;
    log('interrupted: stopping the fleet, then printing what was measured');
  });
  const upstream = new ProxyServer({
    port: 0,
    host: '127.0.0.1',
    prepareRequestFunction: ({ username, password }) => {
      const ok = username !== '' && password === `pw-${username}`;
      if (ok) proxyUsers.set(username, (proxyUsers.get(username) ?? 0) + 1);
      return { requestAuthentication: !ok };
    },
  });
  await upstream.listen();
  const phases: Phase[] = [];
  log(
    `bench:sessions: ${agentsText(AGENTS)} in contexts, sampled at ${FIRST_MINUTES} and ${SECOND_MINUTES} min; ` +
      `${BASELINE_AGENTS} with a browser each, sampled at ${FIRST_MINUTES} min (Chromium ${CHROME_PATH})`,
  );
  try {
    phases.push(await runPhase('contexts', AGENTS, [FIRST_MINUTES, SECOND_MINUTES], upstream.port));
    if (!interrupted) {
      phases.push(await runPhase('browser-per-agent', BASELINE_AGENTS, [FIRST_MINUTES], upstream.port));
    }
  } finally {
    for (const child of children) killTree(child);
    await upstream.close(true);
    print(phases);
  }
  if (phases.some((phase) => phase.error) || interrupted) process.exitCode = 1;
}

/** One fleet on a fresh fixture site: starts, idle and sampled memory, activity counts. Never throws. */
async function runPhase(mode: FleetMode, agents: number, minutes: number[], proxyPort: number): Promise<Phase> {
  const phase: Phase = { mode, agents, startsMs: [], sessionStartedMs: [], failedStarts: [], loggedIn: 0, samples: [] };
  const prefix = mode === 'contexts' ? 'ctx' : 'own';
  const users = Object.fromEntries(Array.from({ length: agents }, (_, i) => [`${prefix}-${i}`, `site-pw-${i}`]));
  let site: FeedSite | undefined;
  let fleet: FleetProcess | undefined;
  try {
    site = await startFeedSite({ users, posts: POSTS });
    const fleetAgents: FleetAgent[] = [];
    for (const [username, password] of Object.entries(users)) {
      fleetAgents.push({
        agentId: username,
        username,
        password,
        proxy: `http://${username}:pw-${username}@127.0.0.1:${proxyPort}`,
        cookies: await logIn(site.url, username, password),
      });
    }
    const seededLogins = site.state.logins;
    proxyUsers.clear();
    fleet = new FleetProcess({
      mode,
      baseUrl: site.url,
      agents: fleetAgents,
      runEveryMs: RUN_EVERY_MS,
      startTimeoutMs: START_TIMEOUT_MS,
      browserMaxRssMb: BROWSER_MAX_RSS_MB,
      log: process.env.BENCH_LOG === '1',
    });
    log(`${label(mode)}: starting ${agentsText(agents)}`);
    for (;;) {
      const message = await fleet.next();
      if (message.type === 'ready') phase.idle = treeMemory(fleet.pid);
      else if (message.type === 'started') {
        phase.startsMs.push(message.ms);
        if (message.sessionStartedMs !== undefined) phase.sessionStartedMs.push(message.sessionStartedMs);
        if (!message.reusedCookies) phase.loggedIn += 1;
      } else if (message.type === 'start-failed') {
        phase.failedStarts.push(`${message.agentId}: ${message.error}`);
        log(`${label(mode)}: ${message.agentId} did not start: ${message.error}`);
      } else if (message.type === 'running') break;
    }
    log(
      `${label(mode)}: ${phase.startsMs.length} of ${agents} started; first page ${summary(phase.startsMs)}, ` +
        `session.started ${summary(phase.sessionStartedMs)}`,
    );
    const since = Date.now();
    for (const at of minutes) {
      await fleet.waitUntil(since + at * 60_000);
      const status = await fleet.status();
      const sample = { minutes: at, running: status.running, memory: treeMemory(fleet.pid), counts: status.counts };
      phase.samples.push(sample);
      log(
        `${label(mode)}: at ${at} min: ${agentsText(sample.running)} running, PSS ${mb(sample.memory.pssMb)} ` +
          `(node ${mb(sample.memory.rootPssMb)}; Chromium ${mb(sample.memory.browserPssMb)} in ` +
          `${sample.memory.processes - 1} processes), ${describeCounts(status.counts)}`,
      );
    }
    phase.siteLogins = site.state.logins - seededLogins;
    phase.proxyUsers = proxyUsers.size;
  } catch (error) {
    phase.error = (error as Error).message;
    log(`${label(mode)} failed: ${phase.error}`);
  } finally {
    await fleet?.stop();
    await site?.close();
  }
  return phase;
}

/** The fleet process: its messages in order, status on request, a bounded stop. */
class FleetProcess {
  private readonly child: ChildProcess;
  private readonly queue: FleetMessage[] = [];
  private wake?: () => void;
  private exited?: string;
  private readonly exit: Promise<void>;
  /** Every pid of its tree seen so far, for a last SIGKILL should it not stop. */
  private pids: number[] = [];

  constructor(spec: FleetSpec) {
    // Its stdout goes to our stderr: only the figures go to stdout.
    this.child = fork(join(__dirname, 'fleet.js'), [JSON.stringify(spec)], { stdio: ['ignore', 2, 2, 'ipc'] });
    children.add(this.child);
    this.child.on('message', (message: FleetMessage) => {
      if (message.type === 'failed') this.exited ??= `the fleet failed: ${message.error}`;
      this.queue.push(message);
      this.wake?.();
    });
    this.exit = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exited ??= `the fleet exited (${signal ?? `code ${code}`})`;
        children.delete(this.child);
        this.wake?.();
        resolve();
      }),
    );
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the fleet process did not start');
    return this.child.pid;
  }

  async next(): Promise<FleetMessage> {
    for (;;) {
      const message = this.queue.shift();
      if (message?.type === 'failed') throw new Error(`the fleet failed: ${message.error}`);
      if (message) return message;
      this.check();
      this.pids = treePids(this.pid);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 1_000).unref();
      });
    }
  }

  async status(): Promise<{ running: number; counts: Counts }> {
    this.send({ type: 'status' });
    for (;;) {
      const message = await this.next();
      if (message.type === 'status') return message;
    }
  }

  /** Sleeps until `at` (epoch ms); throws when the fleet goes away or the bench is interrupted. */
  async waitUntil(at: number): Promise<void> {
    while (Date.now() < at) {
      this.check();
      this.pids = treePids(this.pid);
      await sleep(Math.min(1_000, at - Date.now()));
    }
  }

  /** Asks the fleet to stop (sessions ended, browsers closed) and waits; SIGKILLs what is left after a minute. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.send({ type: 'stop' });
      const stopped = await Promise.race([this.exit.then(() => true), sleep(STOP_TIMEOUT_MS, false, { ref: false })]);
      if (!stopped) {
        log('the fleet did not stop within a minute: killing its processes');
        killTree(this.child, this.pids);
      }
    }
  }

  private check(): void {
    if (interrupted) throw new Error('interrupted');
    if (this.exited) throw new Error(this.exited);
  }

  private send(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message);
  }
}

function killTree(child: ChildProcess, known: readonly number[] = []): void {
  const pids = child.pid === undefined ? known : [...new Set([...treePids(child.pid), ...known])];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** The agent's saved session: the site's cookie after a login, as a session agent would have stored it. */
async function logIn(baseUrl: string, username: string, password: string): Promise<CookieData[]> {
  const response = await fetch(`${baseUrl}/login`, {
    method: 'POST',
    body: new URLSearchParams({ username, password }),
    redirect: 'manual',
  });
  const [pair] = (response.headers.get('set-cookie') ?? '').split(';');
  const index = pair?.indexOf('=') ?? -1;
  if (!pair || index <= 0) throw new Error(`no session cookie for ${username} (HTTP ${response.status})`);
  const { hostname } = new URL(baseUrl);
  return [
    {
      name: pair.slice(0, index).trim(),
      value: pair.slice(index + 1).trim(),
      domain: hostname,
      path: '/',
      httpOnly: true,
    },
  ];
}

function print(phases: Phase[]): void {
  const contexts = phases.find((p) => p.mode === 'contexts');
  const baseline = phases.find((p) => p.mode === 'browser-per-agent');
  const lines: string[] = [];
  if (contexts) {
    const [first, second] = contexts.samples;
    lines.push(
      `bench:sessions: ${agentsText(contexts.agents)} running social-feed in contexts of one browser (${CHROME_PATH}), ` +
        `each with its own proxy credentials and restored cookies`,
      `  warm start p50 ${ms(pct(contexts.startsMs, 50))}, p95 ${ms(pct(contexts.startsMs, 95))} over ` +
        `${contexts.startsMs.length} starts (goal: p95 under ${GOALS.warmP95Ms} ms), ` +
        `of which up to session.started p50 ${ms(pct(contexts.sessionStartedMs, 50))}, ` +
        `p95 ${ms(pct(contexts.sessionStartedMs, 95))}`,
    );
    if (contexts.idle) lines.push(`  idle session agent (node + Chromium, no agent): ${mb(contexts.idle.pssMb)} PSS`);
    if (first) lines.push(`  PSS per agent at ${first.minutes} min: ${perAgent(first)}`);
    if (second) lines.push(`  PSS per agent at ${second.minutes} min: ${perAgent(second)}`);
    if (first && second) {
      lines.push(
        `  growth, ${second.minutes} min against ${first.minutes} min: ` +
          `x${(perAgentMb(second) / perAgentMb(first)).toFixed(2)} (goal: no growth, x1.00)`,
        `  agents per GB at ${second.minutes} min: ${agentsPerGb(second).toFixed(1)} (goal: at least ${GOALS.agentsPerGb})`,
        `  between the samples: ${describeCounts(diff(second.counts, first.counts))}`,
      );
    }
    lines.push(...problems(contexts));
  }
  if (baseline) {
    const [first] = baseline.samples;
    lines.push(
      `baseline: ${agentsText(baseline.agents)} with a browser each, same site and behaviour`,
      `  start (browser launch included) p50 ${ms(pct(baseline.startsMs, 50))}, ` +
        `p95 ${ms(pct(baseline.startsMs, 95))} over ${baseline.startsMs.length} starts`,
    );
    if (first) {
      lines.push(
        `  PSS per agent at ${first.minutes} min: ${perAgent(first)}, ${agentsPerGb(first).toFixed(1)} agents per GB`,
      );
    }
    lines.push(...problems(baseline));
  }
  const ctx = contexts?.samples[0];
  const own = baseline?.samples[0];
  if (contexts && baseline && ctx && own && contexts.startsMs.length > 0 && baseline.startsMs.length > 0) {
    lines.push(
      `contexts against a browser per agent, at ${ctx.minutes} min: ` +
        `x${(agentsPerGb(ctx) / agentsPerGb(own)).toFixed(1)} agents per GB, ` +
        `start p50 x${(pct(baseline.startsMs, 50) / pct(contexts.startsMs, 50)).toFixed(1)} faster, ` +
        `p95 x${(pct(baseline.startsMs, 95) / pct(contexts.startsMs, 95)).toFixed(1)} faster`,
    );
  }
  if (lines.length === 0) lines.push('bench:sessions: nothing was measured');
  console.log(lines.join('\n'));
}

/** What would make a figure misleading, said next to it. */
function problems(phase: Phase): string[] {
  const out: string[] = [];
  if (phase.error) out.push(`  STOPPED EARLY: ${phase.error}`);
  if (phase.failedStarts.length > 0) {
    out.push(`  ${phase.failedStarts.length} agents did not start, e.g. ${phase.failedStarts[0]}`);
  }
  if (phase.loggedIn > 0) out.push(`  ${phase.loggedIn} agents logged in instead of reusing their restored cookies`);
  if (phase.siteLogins) out.push(`  the site saw ${phase.siteLogins} logins by agents`);
  const last = phase.samples.at(-1);
  if (last && last.running < phase.startsMs.length) {
    out.push(`  only ${last.running} of ${phase.startsMs.length} started agents still ran at the last sample`);
  }
  if (phase.proxyUsers !== undefined && phase.proxyUsers < phase.startsMs.length) {
    out.push(`  the upstream proxy saw ${phase.proxyUsers} agents' credentials, not ${phase.startsMs.length}`);
  }
  const rebuilt = last?.counts['browser.rebuilt'] ?? 0;
  if (rebuilt > 0) out.push(`  ${rebuilt} browser.rebuilt activities: the browser was replaced mid-run`);
  return out;
}

function perAgentMb(sample: Sample): number {
  return sample.memory.pssMb / Math.max(1, sample.running);
}

function agentsPerGb(sample: Sample): number {
  return 1024 / perAgentMb(sample);
}

function perAgent(sample: Sample): string {
  return (
    `${perAgentMb(sample).toFixed(1)} MB (${mb(sample.memory.pssMb)} for ${agentsText(sample.running)}; ` +
    `node ${mb(sample.memory.rootPssMb)}, Chromium ${mb(sample.memory.browserPssMb)})`
  );
}

function diff(later: Counts, earlier: Counts): Counts {
  return Object.fromEntries(Object.entries(later).map(([key, n]) => [key, n - (earlier[key] ?? 0)]));
}

function describeCounts(counts: Counts): string {
  const n = (key: string) => counts[key] ?? 0;
  const failed = Object.entries(counts)
    .filter(([key, value]) => key.endsWith('!') && value > 0)
    .map(([key, value]) => `${value} ${key.slice(0, -1)} not ok`);
  return [
    `${n('feed.run')} feed runs, ${n('feed.like')} likes, ${n('feed.comment')} comments`,
    ...failed,
    ...(n('session.failed') > 0 ? [`${n('session.failed')} sessions failed`] : []),
  ].join(', ');
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(values: number[]): string {
  return `p50 ${ms(pct(values, 50))}, p95 ${ms(pct(values, 95))}`;
}

function ms(value: number): string {
  return `${value.toFixed(0)} ms`;
}

function mb(value: number): string {
  return `${value.toFixed(0)} MB`;
}

function agentsText(n: number): string {
  return n === 1 ? '1 agent' : `${n} agents`;
}

function label(mode: FleetMode): string {
  return mode === 'contexts' ? 'contexts' : 'browser per agent';
}

function positiveInt(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** `BENCH_MINUTES=first,second`: the two sampling points, in minutes after the last start (fractions allowed). */
function samplingMinutes(raw: string): [number, number] {
  const [first, second] = raw.split(',').map(Number);
  if (first === undefined || second === undefined || !(first > 0) || !(second > first)) {
    throw new Error('BENCH_MINUTES must be two increasing numbers of minutes, such as 1,10');
  }
  return [first, second];
}

function log(line: string): void {
  process.stderr.write(`[${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench:sessions failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
