import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import {
  Exchanges,
  RoutingKeys,
  type Activity,
  type PersistenceReply,
  type PersistenceTask,
  type StartSession,
} from '@drover/contracts';
import { DROVER_TOPOLOGY, Queues, type Delivery } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { DroverMetrics } from '@drover/platform';
import { EnvSchema, type Logger, ProfileSchema, SecretBox, silentLogger, systemClock } from '@drover/runtime';
import { createSessionAgent, type SessionAgent } from '../src/session-agent';
import type { Counts, FleetAgent, FleetMessage, FleetSpec, ParentMessage } from './fleet-protocol';

/**
 * The measured process of `npm run bench:sessions`, forked by it: session agents exactly as the
 * service builds them (`createSessionAgent`: browser stack, lender, cookie store, session host),
 * each on an in-memory bus whose engine and persistence agent are stand-ins. Each agent is a
 * `session.start` of the real social-feed behaviour, dispatched the way the engine does; the
 * session agent restores its cookies through a persistence task, opens its context behind its
 * own proxy endpoint and runs it until told to stop.
 *
 * The parent reads this process tree's memory (node and Chromium), so the fixture site and the
 * upstream proxy run in the parent, not here.
 */
const spec = JSON.parse(process.argv[2] ?? '{}') as FleetSpec;
const logger: Logger = spec.log ? pino({ level: 'warn' }, pino.destination(2)) : silentLogger();

/** One session agent and its in-memory surroundings. */
interface Fleet {
  agent: SessionAgent;
  bus: InMemoryBus;
  dataDir: string;
}

/** The first `feed.session` activity of each agent: its first page of the feed is there. */
const firstPage = new Map<string, { resolve: (reused: boolean) => void; reject: (error: Error) => void }>();
/** When each agent's `session.started` came (its context open, cookies restored, proxy endpoint up). */
const sessionStarted = new Map<string, number>();
const counts: Counts = {};
const fleets: Fleet[] = [];
let stopping: Promise<void> | undefined;

function send(message: FleetMessage): void {
  process.send?.(message);
}

function count(key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Stands in for the persistence agent: cookie jars (`agent_cookies`) and behaviour state
 * (`agent_state`) kept in memory, by id. Only what a session agent asks for.
 */
function persistenceStub(seed: readonly FleetAgent[]) {
  const docs = new Map<string, Record<string, unknown>>();
  for (const agent of seed) {
    docs.set(`agent_cookies/${agent.agentId}`, { _id: agent.agentId, cookies: agent.cookies });
  }
  return (task: PersistenceTask): PersistenceReply => {
    if (task.op === 'findOne') {
      const filter = task.filter;
      const id = filter && 'field' in filter && filter.field === '_id' && filter.op === 'eq' ? filter.value : undefined;
      return { ok: true, result: docs.get(`${task.collection}/${String(id)}`) ?? null };
    }
    if (task.op === 'upsert') {
      docs.set(`${task.collection}/${task.id}`, { _id: task.id, ...task.document });
      return { ok: true, result: { upserted: true } };
    }
    return { ok: false, error: { code: 'invalid_task', message: `the bench's persistence does not do ${task.op}` } };
  };
}

interface Report {
  type: string;
  agentId: string;
  payload: Record<string, unknown>;
}

/** A session agent as the service builds it, on an in-memory bus with a stand-in engine and persistence agent. */
async function startFleet(agents: readonly FleetAgent[], capacity: number, instanceId: string): Promise<Fleet> {
  const bus = new InMemoryBus(DROVER_TOPOLOGY);
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-bench-sessions-'));
  try {
    const persistence = persistenceStub(agents);
    await bus.subscribe(Queues.persistenceTasks, async (delivery: Delivery) => {
      await delivery.reply?.(persistence(delivery.body as PersistenceTask));
    });
    // The engine's side: started, stopped, failed, deferred.
    await bus.subscribe(
      Queues.engineReports,
      async (delivery: Delivery) => {
        const report = delivery.body as Report;
        count(report.type);
        if (report.type === 'session.started') sessionStarted.set(report.agentId, performance.now());
        if (report.type === 'session.failed' || report.type === 'session.deferred') {
          const { error, reason } = report.payload as { error?: string; reason?: string };
          firstPage.get(report.agentId)?.reject(new Error(`${report.type}: ${error ?? reason ?? 'no reason'}`));
        }
      },
      { prefetch: 100 },
    );
    // The read side's: activities (heartbeats have their own queue, not needed here).
    await bus.subscribe(
      Queues.persistenceReports,
      async (delivery: Delivery) => {
        const report = delivery.body as Report;
        if (report.type !== 'session.activity') return;
        const activity = report.payload as unknown as Activity;
        count(activity.ok ? activity.kind : `${activity.kind}!`);
        if (activity.kind === 'feed.session') {
          const waiter = firstPage.get(report.agentId);
          if (!activity.ok) waiter?.reject(new Error(`feed.session: ${activity.message ?? 'not ok'}`));
          else waiter?.resolve(activity.details?.reused === true);
        }
      },
      { prefetch: 100 },
    );
    const env = EnvSchema.parse({
      ...(process.env.CHROME_PATH ? { CHROME_PATH: process.env.CHROME_PATH } : {}),
      ...(process.env.CHROME_NO_SANDBOX ? { CHROME_NO_SANDBOX: process.env.CHROME_NO_SANDBOX } : {}),
      PERSISTENT_DATA_PATH: dataDir,
      BROWSER_MAX_RSS_MB: String(spec.browserMaxRssMb),
      SESSION_AGENT_ID: instanceId,
    });
    // The production profile's lease: a loaded machine must not fence the agent mid-run.
    const profile = ProfileSchema.parse({
      name: 'bench',
      sessionAgent: { maxConcurrentAgents: capacity, heartbeatMs: 5_000, leaseMs: 30_000 },
      // The fixture site and the upstream proxy listen on 127.0.0.1.
      egress: { allow: ['loopback'] },
    });
    const agent = await createSessionAgent({
      config: { env, profile },
      secrets: SecretBox.fresh(),
      bus,
      clock: systemClock,
      logger,
      metrics: new DroverMetrics('session-agent'),
    });
    const fleet = { agent, bus, dataDir };
    fleets.push(fleet);
    await agent.host.start();
    return fleet;
  } catch (error) {
    await bus.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Dispatches the agent's social-feed session and waits for its first page of the feed. */
async function dispatch(fleet: Fleet, agent: FleetAgent): Promise<{ reused: boolean; startedAt?: number }> {
  const reached = new Promise<boolean>((resolve, reject) => firstPage.set(agent.agentId, { resolve, reject }));
  const timer = setTimeout(
    () => firstPage.get(agent.agentId)?.reject(new Error(`no first page within ${spec.startTimeoutMs} ms`)),
    spec.startTimeoutMs,
  );
  const start: StartSession = {
    messageId: `bench-start-${agent.agentId}`,
    type: 'session.start',
    agentId: agent.agentId,
    attempt: 1,
    behavior: 'social-feed',
    config: {
      baseUrl: spec.baseUrl,
      username: agent.username,
      password: agent.password,
      commentTemplate: 'Bench comment on {postId}',
      likesPerRun: 2,
      commentsPerRun: 1,
      // The site stays small: at most 3 comments per agent, likes bounded by the posts.
      commentsPerDay: 3,
      runEveryMs: spec.runEveryMs,
    },
    proxy: agent.proxy,
    occurredAt: new Date().toISOString(),
  };
  try {
    await fleet.bus.publish(Exchanges.dispatch, RoutingKeys.pendingSessions, start, { messageId: start.messageId });
    const reused = await reached;
    return { reused, ...(sessionStarted.has(agent.agentId) ? { startedAt: sessionStarted.get(agent.agentId) } : {}) };
  } finally {
    clearTimeout(timer);
    firstPage.delete(agent.agentId);
    sessionStarted.delete(agent.agentId);
  }
}

function sendStarted(agent: FleetAgent, started: number, reached: { reused: boolean; startedAt?: number }): void {
  send({
    type: 'started',
    agentId: agent.agentId,
    ms: performance.now() - started,
    ...(reached.startedAt === undefined ? {} : { sessionStartedMs: reached.startedAt - started }),
    reusedCookies: reached.reused,
  });
}

function running(): number {
  return fleets.reduce((sum, fleet) => sum + fleet.agent.host.agentIds().length, 0);
}

async function run(): Promise<void> {
  if (spec.mode === 'contexts') {
    const fleet = await startFleet(spec.agents, spec.agents.length, 'bench-contexts');
    send({ type: 'ready' });
    for (const agent of spec.agents) {
      if (stopping) return;
      const started = performance.now();
      await dispatch(fleet, agent).then(
        (reached) => sendStarted(agent, started, reached),
        (error: Error) => send({ type: 'start-failed', agentId: agent.agentId, error: error.message }),
      );
    }
  } else {
    for (const [index, agent] of spec.agents.entries()) {
      if (stopping) return;
      const started = performance.now();
      await startFleet([agent], 1, `bench-browser-${index}`)
        .then((fleet) => dispatch(fleet, agent))
        .then(
          (reached) => sendStarted(agent, started, reached),
          (error: Error) => send({ type: 'start-failed', agentId: agent.agentId, error: error.message }),
        );
    }
  }
  send({ type: 'running', running: running() });
}

/** Every session agent down (sessions ended, browsers closed), every bus closed; then the process exits. */
function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    for (const waiter of firstPage.values()) waiter.reject(new Error('the bench is stopping'));
    await Promise.all(
      fleets.map(async ({ agent, bus, dataDir }) => {
        await agent.shutdown().catch((error: Error) => process.stderr.write(`fleet: shutdown: ${error.message}\n`));
        await bus.close().catch(() => undefined);
        rmSync(dataDir, { recursive: true, force: true });
      }),
    );
    process.exit(code);
  })();
  return stopping;
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'status') send({ type: 'status', running: running(), counts: { ...counts } });
  else void stop(0);
});
// The parent went away (or was interrupted): nobody measures any more.
process.on('disconnect', () => void stop(0));
process.on('SIGINT', () => void stop(130));
process.on('SIGTERM', () => void stop(143));

run().catch((error: Error) => {
  send({ type: 'failed', error: error.stack ?? error.message });
  void stop(1);
});
