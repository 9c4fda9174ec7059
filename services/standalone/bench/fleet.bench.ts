import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { ProfileSchema } from '@drover/runtime';
import { SQLITE_FILE_NAME } from '@drover/store/sqlite';
import { createTestVhost, type TestVhost } from '@drover/testing/rabbitmq-vhost';
import { writeRunProfile } from '@drover/testing/run-profile';
import { REPO_ROOT, runOnce, startService, type ServiceProcess } from '@drover/testing/service-process';

/**
 * `npm run bench:fleet`: how the system holds up as the fleet grows, driven as a user drives it
 * (REST calls to the gateway), in the layouts Drover ships:
 *
 * - embedded: the standalone process (`npm start`) on SQLite, always;
 * - multi-process: bootstrap, engine, persistence agent, scheduler, session agent(s) and gateway
 *   as separate processes on RabbitMQ (a scratch vhost), when `RABBITMQ_URL` is set; on MongoDB
 *   (a scratch database) when `MONGO_URL` is set too, else on a shared SQLite file.
 *
 * Each layout prints, one line per figure, next to the goal of the "Fleet scale" issue:
 * start throughput at 0, 10 %, 50 % and 100 % of `BENCH_FLEET_AGENTS` (default 10,000) existing
 * agents and the ratio last/first; starts per second from `202` to `running` and the p95;
 * control-plane CPU with the fleet idle; store bytes per agent-day of a 1-second http-monitor,
 * before and after retention; and (multi-process only) how long the 50 agents of a SIGKILLed
 * session agent take to run on the other one. Figures only: nothing here passes or fails.
 */
const TOTAL = intFromEnv('BENCH_FLEET_AGENTS', 10_000);
const LEVELS = [...new Set([0, Math.round(TOTAL / 10), Math.round(TOTAL / 2), TOTAL])];
const CONNECTIONS = intFromEnv('BENCH_FLEET_CONNECTIONS', 16);
const ROUND_MS = 5_000;
const SETTLE_MS = intFromEnv('BENCH_FLEET_SETTLE_S', 300) * 1000;
const CPU_MS = intFromEnv('BENCH_FLEET_CPU_S', 30) * 1000;
const MONITORS = intFromEnv('BENCH_FLEET_MONITORS', 50);
const STORE_MS = intFromEnv('BENCH_FLEET_STORE_S', 60) * 1000;
const RECOVERY_AGENTS = 50;
/** How often the bench reads which agents are running (the resolution of every 202 -> running figure). */
const POLL_MS = 500;
const IDLE_INTERVAL_MS = 3_600_000;
/** Before the first level, commands that create no agent warm the gateway and the engine up. */
const WARM_UP_MS = 3_000;
const RABBITMQ_URL = process.env.RABBITMQ_URL;
const MONGO_URL = process.env.MONGO_URL;
const SERVICE_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';

type Layout = 'embedded' | 'multi';
type Profile = Record<string, unknown> & { name: string; sessionAgent: { heartbeatMs: number; leaseMs: number } };

async function main(): Promise<void> {
  const layouts = chosenLayouts();
  const target = await Target.start();
  out(
    `bench:fleet: ${cpus().length} cores, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start; levels ${LEVELS.join(', ')}; ${CONNECTIONS} connections; layouts ${layouts.join(', ')}`,
  );
  try {
    for (const layout of layouts) {
      await fleet(layout, target);
      await storeGrowth(layout, target);
      if (layout === 'multi') await recovery(target);
    }
  } finally {
    target.close();
  }
}

function chosenLayouts(): Layout[] {
  const asked = process.env.BENCH_FLEET_LAYOUTS?.split(',').map((l) => l.trim()) ?? [
    'embedded',
    ...(RABBITMQ_URL ? ['multi'] : []),
  ];
  for (const layout of asked) {
    if (layout !== 'embedded' && layout !== 'multi') throw new Error(`BENCH_FLEET_LAYOUTS: unknown layout ${layout}`);
    if (layout === 'multi' && !RABBITMQ_URL) throw new Error('the multi-process layout needs RABBITMQ_URL');
  }
  return asked as Layout[];
}

// ---------------------------------------------------------------------------------------------
// 1-3. Start throughput by fleet size, 202 -> running, control-plane CPU with the fleet idle.

async function fleet(layout: Layout, target: Target): Promise<void> {
  const profile = benchProfile(layout, undefined);
  const capacity = Math.ceil(TOTAL * 1.2) + 1_000;
  const figures: { level: number; acceptedPerSecond: number }[] = [];

  // 0 existing agents: a system of its own, so a full round does not overshoot the next level.
  const empty = await startSystem(layout, profile, { capacity });
  const emptyWatch = new RunningWatch(empty.api, new AgentIds('z'));
  try {
    emptyWatch.start();
    const warm = await warmUp(empty.api);
    log(`${empty.label}: warm-up: ${warm} stops of unknown agents in ${WARM_UP_MS / 1000} s`);
    figures.push(await measureRound(empty, emptyWatch, target, 0, Infinity));
  } finally {
    await emptyWatch.stop();
    await empty.stop();
  }

  const system = await startSystem(layout, profile, { capacity });
  const label = system.label;
  const watch = new RunningWatch(system.api, new AgentIds('f'));
  try {
    watch.start();
    const warm = await warmUp(system.api);
    log(`${label}: warm-up: ${warm} stops of unknown agents in ${WARM_UP_MS / 1000} s`);
    let existing = 0;
    const levels = LEVELS.filter((level) => level > 0);
    for (const [index, level] of levels.entries()) {
      if (existing < level) {
        const fill = await post(system.api, watch, target, { count: level - existing });
        existing += fill.answered.length;
        const settled = await watch.settle(SETTLE_MS);
        log(
          `${label}: filled to ${existing} agents (${fill.perSecond.toFixed(0)}/s accepted), ${describeSettle(settled)}`,
        );
      }
      // A round is ROUND_MS long, or ends where the next level begins.
      const next = levels[index + 1] ?? Infinity;
      const round = await measureRound(system, watch, target, existing, next - existing);
      existing += round.added;
      figures.push(round);
    }
    const first = figures[0]!;
    const last = figures.at(-1)!;
    out(
      `${label}: start throughput at ${last.level} / at ${first.level} existing agents: ` +
        `${(last.acceptedPerSecond / first.acceptedPerSecond).toFixed(2)} (goal: at least 0.8)`,
    );

    // The fleet is idle once every agent runs (one check an hour each): what does standing still cost?
    await sleep(5_000);
    const cpu = await measureCpu(system.controlPlane, CPU_MS);
    out(
      `${label}: control-plane CPU with ${existing} idle agents (${watch.pendingCount()} not yet seen running): ` +
        `${cpu.fraction.toFixed(3)} of a core over ${CPU_MS / 1000} s (goal: under 0.05)` +
        ` [${cpu.perProcess.map((p) => `${p.name} ${p.fraction.toFixed(3)}`).join(', ')}; ` +
        `machine busy ${cpu.machineCores.toFixed(2)} of ${cpus().length} cores meanwhile]`,
    );
  } finally {
    await watch.stop();
    await system.stop();
  }
}

/** One timed round at `existing` agents: at most `count` starts in ROUND_MS, then until they run. */
async function measureRound(
  system: System,
  watch: RunningWatch,
  target: Target,
  existing: number,
  count: number,
): Promise<{ level: number; acceptedPerSecond: number; added: number }> {
  const cpu = cpuMeter(system.processes());
  const round = await post(system.api, watch, target, { count, ms: ROUND_MS });
  const roundCpu = cpu.read();
  const settled = await watch.settle(SETTLE_MS);
  const totalCpu = cpu.read();
  const latencies = round.answered.flatMap((a) => (a.runningAt === undefined ? [] : [a.runningAt - a.answeredAt]));
  const lastRunning = Math.max(...round.answered.map((a) => a.runningAt ?? 0));
  const runningPerSecond = latencies.length ? latencies.length / ((lastRunning - round.startedAt) / 1000) : 0;
  const firstChecks = round.answered.flatMap((a) => {
    const at = target.firstHit(a.agentId);
    return at === undefined ? [] : [at - a.answeredAt];
  });
  const notRunning = round.answered.length - latencies.length;
  out(
    `${system.label}: at ${existing} existing agents: ${round.perSecond.toFixed(0)} starts accepted/s ` +
      `(${round.answered.length - round.pending} in ${(round.ms / 1000).toFixed(1)} s${describeRefusals(round)}, ` +
      `POST p95 ${ms(pct(round.postMs, 95))}); 202 -> running ${runningPerSecond.toFixed(0)}/s, ` +
      `p50 ${ms(pct(latencies, 50))}, p95 ${ms(pct(latencies, 95))}` +
      `${notRunning ? `, ${notRunning} not running after ${SETTLE_MS / 1000} s` : ''}` +
      ` (first check p95 ${ms(pct(firstChecks, 95))}; no goal: compare the levels); ` +
      `system CPU ${ms((totalCpu.processSeconds * 1000) / Math.max(1, round.answered.length))} per start ` +
      `until all ran; machine busy ${roundCpu.machineCores.toFixed(2)} of ${cpus().length} cores during the round`,
  );
  log(`${system.label}: round settled: ${describeSettle(settled)}`);
  return { level: existing, acceptedPerSecond: round.perSecond, added: round.answered.length };
}

// ---------------------------------------------------------------------------------------------
// 4. Store bytes per agent-day of a 1-second http-monitor, before and after retention.

/**
 * The "after" run's retention unless `BENCH_FLEET_RETENTION` names one: a cap small enough to bite
 * within the measured window (5 entries per agent, swept every 2 s), so the window shows whether
 * growth stops. The profile's defaults (10,000 per agent) bite only after hours of a 1 s monitor:
 * for them the bench prints the ceiling they imply.
 */
const DEMO_RETENTION = {
  activities: { maxPerAgent: 5 },
  commands: { maxPerAgent: 5 },
  sweepIntervalMs: 2_000,
};

async function storeGrowth(layout: Layout, target: Target): Promise<void> {
  const before = await storeRun(layout, target, undefined);
  out(`${before.label}: store per agent-day of a 1 s http-monitor, before retention: ${describeStore(before)}`);
  const retention = retentionSection();
  const after = await storeRun(layout, target, retention);
  out(
    `${after.label}: store per agent-day of a 1 s http-monitor, after retention ${JSON.stringify(retention)}: ` +
      `${describeStore(after)}; after/before ${(after.perAgentDay / before.perAgentDay).toFixed(2)}`,
  );
  const defaults = ProfileSchema.parse({ name: 'defaults' }).retention.activities;
  if (defaults.maxPerAgent !== null) {
    const checks = Math.min(defaults.maxPerAgent, (defaults.maxAgeMs ?? Infinity) / 1_000);
    out(
      `${before.label}: with the default retention (${defaults.maxPerAgent} activities per agent, ` +
        `${((defaults.maxAgeMs ?? 0) / 86_400_000).toFixed(0)} days), a 1 s monitor's activities stop growing at about ` +
        `${mb(checks * before.bytesPerCheck)} per agent, after ${(checks / 3_600).toFixed(1)} h`,
    );
  }
}

interface StoreRun {
  label: string;
  perAgentDay: number;
  /** On disk at the end of the window (a WAL grows to its checkpoint size first: not a rate). */
  fileBytes: number;
  bytesPerCheck: number;
  checksPerSecond: number;
  footprintPerAgent: number;
}

async function storeRun(layout: Layout, target: Target, retention: unknown): Promise<StoreRun> {
  const system = await startSystem(layout, benchProfile(layout, retention), { capacity: MONITORS + 10 });
  const watch = new RunningWatch(system.api, new AgentIds(retention === undefined ? 'm' : 'r'));
  try {
    watch.start();
    await post(system.api, watch, target, { count: MONITORS, intervalMs: 1_000 });
    const settled = await watch.settle(SETTLE_MS);
    log(`${system.label}: ${MONITORS} 1 s monitors, ${describeSettle(settled)}`);
    await sleep(5_000);
    const hits0 = target.hits;
    const used0 = await system.storeUsage();
    const started = performance.now();
    await sleep(STORE_MS);
    const used1 = await system.storeUsage();
    const seconds = (performance.now() - started) / 1000;
    const checks = target.hits - hits0;
    const grown = used1.usedBytes - used0.usedBytes;
    const perAgentSecond = grown / MONITORS / seconds;
    log(
      `${system.label}: store used ${mb(used0.usedBytes)} -> ${mb(used1.usedBytes)}, ` +
        `files ${mb(used0.fileBytes)} -> ${mb(used1.fileBytes)} in ${seconds.toFixed(0)} s, ${checks} checks`,
    );
    return {
      label: system.label,
      perAgentDay: perAgentSecond * 86_400,
      fileBytes: used1.fileBytes,
      bytesPerCheck: checks ? grown / checks : 0,
      checksPerSecond: checks / MONITORS / seconds,
      footprintPerAgent: used1.usedBytes / MONITORS,
    };
  } finally {
    await watch.stop();
    await system.stop();
  }
}

function describeStore(run: StoreRun): string {
  return (
    `${mb(run.perAgentDay)} per agent-day in use (${run.bytesPerCheck.toFixed(0)} bytes per check, ` +
    `${run.checksPerSecond.toFixed(2)} checks/s per agent measured; ${MONITORS} agents over ${STORE_MS / 1000} s; ` +
    `at the end ${mb(run.footprintPerAgent)} per agent in use, ${mb(run.fileBytes)} of files)`
  );
}

/** The run-profile's `retention` section for the "after" run: `BENCH_FLEET_RETENTION` (JSON), else `DEMO_RETENTION`. */
function retentionSection(): unknown {
  return process.env.BENCH_FLEET_RETENTION
    ? (JSON.parse(process.env.BENCH_FLEET_RETENTION) as unknown)
    : DEMO_RETENTION;
}

// ---------------------------------------------------------------------------------------------
// 5. Recovery: the agents of a SIGKILLed session agent run on another one.

async function recovery(target: Target): Promise<void> {
  const profile = benchProfile('multi', undefined);
  const { leaseMs, heartbeatMs } = profile.sessionAgent;
  const system = await startSystem('multi', profile, { capacity: RECOVERY_AGENTS, sessionAgents: ['sa-1'] });
  const watch = new RunningWatch(system.api, new AgentIds('k'));
  try {
    watch.start();
    const started = await post(system.api, watch, target, { count: RECOVERY_AGENTS });
    const settled = await watch.settle(SETTLE_MS);
    log(`${system.label}: ${RECOVERY_AGENTS} agents on sa-1, ${describeSettle(settled)}`);
    await watch.stop();
    const agents = new Set(started.answered.map((a) => a.agentId));
    await system.startSessionAgent('sa-2');
    // sa-2 is known to the scheduler once its heartbeats are on the read side.
    await sleep(2 * heartbeatMs + 1_000);
    const killedAt = performance.now();
    await system.killSessionAgent('sa-1');
    const moved = new Map<string, number>();
    const deadline = killedAt + 3 * leaseMs + 60_000;
    while (moved.size < agents.size && performance.now() < deadline) {
      await sleep(200);
      const page = await getJson<{ items: { agentId: string; instanceId?: string }[] }>(
        `${system.api}/agents?status=running&limit=1000`,
      ).catch(() => undefined);
      const at = performance.now();
      for (const view of page?.items ?? []) {
        if (agents.has(view.agentId) && view.instanceId === 'sa-2' && !moved.has(view.agentId)) {
          moved.set(view.agentId, at - killedAt);
        }
      }
    }
    const times = [...moved.values()];
    const margin = Math.max(2 * heartbeatMs, leaseMs / 4);
    out(
      `${system.label}: recovery of ${agents.size} agents of a SIGKILLed session agent: running on the other one ` +
        `after p50 ${ms(pct(times, 50))}, p95 ${ms(pct(times, 95))}, max ${ms(Math.max(...times))}` +
        `${moved.size < agents.size ? `, ${agents.size - moved.size} not moved within ${((deadline - killedAt) / 1000).toFixed(0)} s` : ''}` +
        ` (goal: p95 under lease + 2 s = ${ms(leaseMs + 2_000)}; lease ${ms(leaseMs)}, ` +
        `the scheduler's expiry margin ${ms(margin)})`,
    );
  } finally {
    await watch.stop();
    await system.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The system under test.

interface StoreUsage {
  /** Bytes the store's data and indexes use (SQLite pages in use; MongoDB dataSize + indexSize). */
  usedBytes: number;
  /** Bytes on disk (SQLite file + WAL + shared memory; MongoDB storageSize + indexSize). */
  fileBytes: number;
}

interface System {
  label: string;
  api: string;
  /** The processes that count as the control plane (not the session agents, which do the agents' work). */
  controlPlane: ServiceProcess[];
  /** Every process of the system that is still running (gateway and session agents included). */
  processes(): ServiceProcess[];
  storeUsage(): Promise<StoreUsage>;
  startSessionAgent(id: string): Promise<ServiceProcess>;
  killSessionAgent(id: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The repository's profile for the layout (dev for embedded, as `npm start`; production for
 * separate processes), without its declared agents and with `retention` only when asked for;
 * `BENCH_FLEET_LEASE_MS` / `BENCH_FLEET_HEARTBEAT_MS` replace its session-agent lease and heartbeat.
 */
function benchProfile(layout: Layout, retention: unknown): Profile {
  const base = baseProfile(layout);
  delete base.agents;
  delete base.retention;
  const sessionAgent = { ...(base.sessionAgent as Profile['sessionAgent']) };
  if (process.env.BENCH_FLEET_LEASE_MS) sessionAgent.leaseMs = intFromEnv('BENCH_FLEET_LEASE_MS', 0);
  if (process.env.BENCH_FLEET_HEARTBEAT_MS) sessionAgent.heartbeatMs = intFromEnv('BENCH_FLEET_HEARTBEAT_MS', 0);
  return {
    ...base,
    name: 'bench-fleet',
    // Its agents aim at servers on 127.0.0.1 (docs/security.md, "Egress policy").
    egress: { allow: ['loopback'] },
    sessionAgent,
    ...(retention === undefined ? {} : { retention }),
  };
}

function baseProfile(layout: Layout): Record<string, unknown> {
  const name = layout === 'embedded' ? 'dev' : 'production';
  return JSON.parse(readFileSync(join(REPO_ROOT, 'run-profiles', name, 'profile.json'), 'utf8')) as Record<
    string,
    unknown
  >;
}

async function startSystem(
  layout: Layout,
  profile: Profile,
  options: { capacity: number; sessionAgents?: string[] },
): Promise<System> {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-bench-fleet-'));
  const profileDir = writeRunProfile(profile);
  const common = {
    DROVER_DATA_DIR: dataDir,
    PERSISTENT_DATA_PATH: join(dataDir, 'data'),
    LOG_LEVEL: SERVICE_LOG_LEVEL,
    ...profileDir.env,
  };
  const gatewayEnv = { RATE_LIMIT_POINTS: '1000000' };
  const sessionEnv = { MAX_CONCURRENT_AGENTS: String(options.capacity) };
  const cleanup: (() => Promise<void> | void)[] = [() => rmSync(dataDir, { recursive: true, force: true })];
  cleanup.push(() => profileDir.remove());
  const processes: ServiceProcess[] = [];
  const stop = async () => {
    running.delete(stop);
    for (const service of processes.reverse()) await service.stop('SIGKILL');
    for (const step of cleanup.reverse()) await step();
  };
  running.add(stop);
  try {
    if (layout === 'embedded') {
      const standalone = await startService('standalone', { ...common, ...gatewayEnv, ...sessionEnv });
      processes.push(standalone);
      return {
        label: 'embedded (sqlite)',
        api: `${standalone.url}/api`,
        controlPlane: [standalone],
        processes: () => [standalone],
        storeUsage: async () => sqliteUsage(join(dataDir, SQLITE_FILE_NAME)),
        startSessionAgent: () => Promise.reject(new Error('the embedded layout has one session agent')),
        killSessionAgent: () => Promise.reject(new Error('the embedded layout has one session agent')),
        stop,
      };
    }
    const vhost: TestVhost = await createTestVhost(RABBITMQ_URL!, 'drover-bench-fleet');
    cleanup.push(() => vhost.delete());
    const mongoDb = `drover_bench_fleet_${Date.now()}`;
    if (MONGO_URL) cleanup.push(() => dropDatabase(MONGO_URL, mongoDb));
    const env = { ...common, RABBITMQ_URL: vhost.url, ...(MONGO_URL ? { MONGO_URL, MONGO_DB: mongoDb } : {}) };
    const boot = await runOnce('bootstrap', env);
    if (boot.code !== 0) throw new Error(`bootstrap failed (${boot.code}):\n${boot.output}`);
    const start = async (name: string, extra: Record<string, string> = {}) => {
      const service = await startService(name, { ...env, ...extra });
      processes.push(service);
      return service;
    };
    const controlPlane = [await start('persistence-agent'), await start('engine'), await start('scheduler')];
    const sessionAgents = new Map<string, ServiceProcess>();
    const startSessionAgent = async (id: string) => {
      const service = await start('session-agent', { ...sessionEnv, SESSION_AGENT_ID: id });
      sessionAgents.set(id, service);
      return service;
    };
    for (const id of options.sessionAgents ?? ['sa-1']) await startSessionAgent(id);
    const gateway = await start('gateway', gatewayEnv);
    return {
      label: `multi-process (rabbitmq, ${MONGO_URL ? 'mongodb' : 'sqlite'})`,
      api: `${gateway.url}/api`,
      controlPlane,
      processes: () => processes.filter((p) => p.child.exitCode === null && p.child.signalCode === null),
      storeUsage: async () =>
        MONGO_URL ? mongoUsage(MONGO_URL, mongoDb) : sqliteUsage(join(dataDir, SQLITE_FILE_NAME)),
      startSessionAgent,
      killSessionAgent: async (id) => void (await sessionAgents.get(id)?.stop('SIGKILL')),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Pages in use (the file less its free list, WAL included) and the files' sizes. */
function sqliteUsage(file: string): StoreUsage {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    const fileBytes = ['', '-wal', '-shm']
      .map((suffix) => `${file}${suffix}`)
      .reduce((sum, path) => sum + (existsSync(path) ? statSync(path).size : 0), 0);
    return { usedBytes: (pages - free) * pageSize, fileBytes };
  } finally {
    db.close();
  }
}

async function mongoUsage(url: string, dbName: string): Promise<StoreUsage> {
  const client = await MongoClient.connect(url);
  try {
    const stats = await client.db(dbName).command({ dbStats: 1 });
    const n = (key: string) => Number(stats[key] ?? 0);
    return { usedBytes: n('dataSize') + n('indexSize'), fileBytes: n('storageSize') + n('indexSize') };
  } finally {
    await client.close();
  }
}

async function dropDatabase(url: string, dbName: string): Promise<void> {
  const client = await MongoClient.connect(url);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Load: POST /api/agents from CONNECTIONS concurrent clients.

interface Answered {
  agentId: string;
  answeredAt: number;
  runningAt?: number;
}

interface PostRun {
  /** Every 202, `pending` ones included (their command is on its way: the agent will exist). */
  answered: Answered[];
  /** 202s with the engine's answer (`starting` or `queued`) per second, from the first request sent to the last answer. */
  perSecond: number;
  startedAt: number;
  ms: number;
  postMs: number[];
  /** Non-202 answers by status (or `error` when the request failed). */
  refused: Map<string, number>;
  /** 202s whose engine answer did not come within the gateway's command timeout (`status: pending`). */
  pending: number;
}

/**
 * Starts `count` http-monitor agents (at most; or for `ms` if given, whichever ends first) from
 * CONNECTIONS concurrent clients, each one request at a time. A 202 is handed to `watch`.
 */
async function post(
  api: string,
  watch: RunningWatch,
  target: Target,
  limits: { count: number; ms?: number; intervalMs?: number },
): Promise<PostRun> {
  const run: PostRun = {
    answered: [],
    perSecond: 0,
    startedAt: performance.now(),
    ms: 0,
    postMs: [],
    refused: new Map(),
    pending: 0,
  };
  const deadline = limits.ms === undefined ? Infinity : run.startedAt + limits.ms;
  let inFlight = 0;
  let lastAnswer = run.startedAt;
  const client = async () => {
    while (run.answered.length + inFlight < limits.count && performance.now() < deadline) {
      const agentId = watch.ids.next();
      inFlight += 1;
      const sent = performance.now();
      try {
        const response = await fetch(`${api}/agents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            agentId,
            behavior: 'http-monitor',
            config: { url: target.urlFor(agentId), intervalMs: limits.intervalMs ?? IDLE_INTERVAL_MS },
          }),
        });
        const body = (await response.json().catch(() => ({}))) as { status?: string };
        const now = performance.now();
        lastAnswer = Math.max(lastAnswer, now);
        run.postMs.push(now - sent);
        if (response.status === 202) {
          const answered: Answered = { agentId, answeredAt: now };
          run.answered.push(answered);
          if (body.status === 'pending') run.pending += 1;
          watch.track(answered);
        } else {
          run.refused.set(String(response.status), (run.refused.get(String(response.status)) ?? 0) + 1);
        }
      } catch {
        run.refused.set('error', (run.refused.get('error') ?? 0) + 1);
        await sleep(100);
      } finally {
        inFlight -= 1;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  run.ms = lastAnswer - run.startedAt;
  run.perSecond = run.ms > 0 ? (run.answered.length - run.pending) / (run.ms / 1000) : 0;
  return run;
}

/**
 * `DELETE /api/agents/<unknown>` for WARM_UP_MS from every client: the gateway, the bus and the
 * engine's command path run (a 404 decided by the engine), and no agent is created.
 */
async function warmUp(api: string): Promise<number> {
  const deadline = performance.now() + WARM_UP_MS;
  let sent = 0;
  const client = async () => {
    while (performance.now() < deadline) {
      sent += 1;
      await fetch(`${api}/agents/warm-up-${sent}`, { method: 'DELETE' })
        .then((response) => response.arrayBuffer())
        .catch(() => sleep(100));
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, client));
  return sent;
}

function describeRefusals(run: PostRun): string {
  const parts = [...run.refused].map(([status, n]) => `${n} × ${status}`);
  if (run.pending) parts.push(`${run.pending} × 202 pending`);
  return parts.length ? `; not accepted: ${parts.join(', ')}` : '';
}

/** Agent ids that sort in the order they were handed out: `<prefix>0000001`, ... */
class AgentIds {
  private last = 0;
  constructor(readonly prefix: string) {}
  next(): string {
    this.last += 1;
    return this.idOf(this.last);
  }
  idOf(seq: number): string {
    return `${this.prefix}${String(seq).padStart(7, '0')}`;
  }
  seqOf(agentId: string): number {
    return agentId.startsWith(this.prefix) ? Number(agentId.slice(this.prefix.length)) : NaN;
  }
}

/**
 * Which started agents the read side shows `running`, as a user sees it: pages of
 * `GET /api/agents?status=running`, from just below the oldest agent not yet seen running (ids
 * sort in start order, so everything before it is done), at most a few pages per poll so a stuck
 * agent does not make every poll read the whole fleet. The time recorded is when the answer came.
 */
class RunningWatch {
  private readonly pending = new Map<number, Answered>();
  private resumeAfter: number | undefined;
  private running = false;
  private loop?: Promise<void>;

  constructor(
    private readonly api: string,
    readonly ids: AgentIds,
  ) {}

  track(answered: Answered): void {
    this.pending.set(this.ids.seqOf(answered.agentId), answered);
  }

  pendingCount(): number {
    return this.pending.size;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const started = performance.now();
        await this.poll().catch(() => undefined);
        await sleep(Math.max(0, POLL_MS - (performance.now() - started)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Waits until every tracked agent was seen running, or `timeoutMs`. */
  async settle(timeoutMs: number): Promise<{ ms: number; remaining: number; sample: Record<string, number> }> {
    const started = performance.now();
    while (this.pending.size > 0 && performance.now() - started < timeoutMs) await sleep(100);
    const sample: Record<string, number> = {};
    for (const answered of [...this.pending.values()].slice(0, 20)) {
      const view = await getJson<{ status?: string }>(`${this.api}/agents/${answered.agentId}/status`).catch(() => ({
        status: 'unreadable',
      }));
      const status = view.status ?? 'unknown';
      sample[status] = (sample[status] ?? 0) + 1;
    }
    return { ms: performance.now() - started, remaining: this.pending.size, sample };
  }

  private async poll(): Promise<void> {
    if (this.pending.size === 0) return;
    const floor = Math.min(...this.pending.keys()) - 1;
    let after = this.resumeAfter !== undefined && this.resumeAfter > floor ? this.resumeAfter : floor;
    for (let page = 0; page < 3; page += 1) {
      const cursor = after > 0 ? `&cursor=${this.ids.idOf(after)}` : '';
      const answer = await getJson<{ items: { agentId: string }[]; nextCursor: string | null }>(
        `${this.api}/agents?status=running&limit=1000${cursor}`,
      );
      const at = performance.now();
      for (const view of answer.items) {
        const seq = this.ids.seqOf(view.agentId);
        const answered = this.pending.get(seq);
        if (answered) {
          answered.runningAt = at;
          this.pending.delete(seq);
        }
      }
      if (!answer.nextCursor) {
        this.resumeAfter = undefined;
        return;
      }
      after = this.ids.seqOf(answer.nextCursor);
      this.resumeAfter = after;
    }
  }
}

function describeSettle(settled: { ms: number; remaining: number; sample: Record<string, number> }): string {
  if (settled.remaining === 0) return `all running ${(settled.ms / 1000).toFixed(1)} s later`;
  return (
    `${settled.remaining} not running after ${(settled.ms / 1000).toFixed(0)} s ` +
    `(a sample: ${Object.entries(settled.sample)
      .map(([status, n]) => `${n} ${status}`)
      .join(', ')})`
  );
}

/** The URL every agent checks: counts each agent's first check, and answers at once. */
class Target {
  hits = 0;
  private readonly first = new Map<string, number>();
  private readonly server: Server = createServer((req, res) => {
    this.hit(req.url ?? '');
    res.end('ok');
  });
  private base = '';

  static async start(): Promise<Target> {
    const target = new Target();
    await new Promise<void>((resolve) => target.server.listen(0, '127.0.0.1', resolve));
    target.base = `http://127.0.0.1:${(target.server.address() as AddressInfo).port}`;
    return target;
  }

  urlFor(agentId: string): string {
    return `${this.base}/a/${agentId}`;
  }

  firstHit(agentId: string): number | undefined {
    return this.first.get(agentId);
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }

  private hit(path: string): void {
    this.hits += 1;
    const agentId = path.slice('/a/'.length);
    if (!this.first.has(agentId)) this.first.set(agentId, performance.now());
  }
}

// ---------------------------------------------------------------------------------------------
// CPU: utime + stime of the processes (/proc/<pid>/stat), against the wall clock.

interface CpuFigure {
  fraction: number;
  perProcess: { name: string; fraction: number }[];
  /** Cores busy on the whole machine meanwhile (everything: this bench, other users' work). */
  machineCores: number;
}

async function measureCpu(processes: ServiceProcess[], windowMs: number): Promise<CpuFigure> {
  const meter = cpuMeter(processes);
  await sleep(windowMs);
  const { seconds, perProcessSeconds, machineCores } = meter.read();
  const perProcess = processes.map((p, i) => ({ name: p.name, fraction: perProcessSeconds[i]! / seconds }));
  return { fraction: perProcess.reduce((sum, p) => sum + p.fraction, 0), perProcess, machineCores };
}

/** CPU seconds the processes used since the meter was made, and how busy the whole machine was. */
function cpuMeter(processes: ServiceProcess[]) {
  const tick = clockTicksPerSecond();
  const ticks = () => processes.map((p) => processTicks(p.child.pid!));
  const before = ticks();
  const machineBefore = machineTicks();
  const started = performance.now();
  return {
    read() {
      const seconds = (performance.now() - started) / 1000;
      const perProcessSeconds = ticks().map((t, i) => (t - before[i]!) / tick);
      return {
        seconds,
        perProcessSeconds,
        processSeconds: perProcessSeconds.reduce((sum, s) => sum + s, 0),
        machineCores: (machineTicks().busy - machineBefore.busy) / tick / seconds,
      };
    },
  };
}

function processTicks(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0; // gone (a killed session agent)
  }
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function machineTicks(): { busy: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const numbers = values.map(Number);
  const idle = (numbers[3] ?? 0) + (numbers[4] ?? 0);
  // guest time is already counted in user time.
  const total = numbers.slice(0, 8).reduce((sum, n) => sum + n, 0);
  return { busy: total - idle };
}

function clockTicksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

// ---------------------------------------------------------------------------------------------

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return (await response.json()) as T;
}

function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 1_000 ? `${(value / 1000).toFixed(1)} s` : `${value.toFixed(0)} ms`;
}

function mb(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(2)} MB`;
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return value;
}

function out(line: string): void {
  console.log(line);
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The stop of every system still up, so an interrupted bench leaves no process or scratch data behind. */
const running = new Set<() => Promise<void>>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`bench:fleet: ${signal}, stopping what it started`);
    void Promise.allSettled([...running].map((stop) => stop())).then(() => process.exit(130));
  });
}

main().catch((error: Error) => {
  process.stderr.write(`bench:fleet failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
