import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { MongoClient } from 'mongodb';
import {
  closeConnections,
  createTestVhost,
  eventually,
  http,
  managementQueue,
  publishCommands,
  runOnce,
  describeUnless,
  skipUnlessCi,
  startService,
  writeRunProfile,
  type RunProfileDir,
  type ServiceProcess,
  type TestVhost,
} from '@drover/testing';

type Item = Record<string, unknown>;
const RABBITMQ_URL = process.env.RABBITMQ_URL;
const MONGO_URL = process.env.MONGO_URL;

/**
 * The six services as separate processes on RabbitMQ, as they run in containers: bootstrap,
 * REST and bus-driven lifecycles, poison messages, SIGKILLed engines and session agents, and a
 * dropped broker connection. Runs twice: on a shared SQLite store, and on the MongoDB store
 * (engine, persistence agent and scheduler on `MONGO_URL`, a fresh database per run).
 */
const skip = skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set');
const skipMongo = skipUnlessCi((!RABBITMQ_URL && 'RABBITMQ_URL is not set') || (!MONGO_URL && 'MONGO_URL is not set'));

describeUnless(skip, 'production mode: six processes on RabbitMQ and SQLite', () => productionMode({ kind: 'sqlite' }));
describeUnless(skipMongo, 'production mode: six processes on RabbitMQ and MongoDB', () =>
  productionMode({ kind: 'mongodb', url: MONGO_URL! }),
);

type StoreUnderTest = { kind: 'sqlite' } | { kind: 'mongodb'; url: string };

function productionMode(store: StoreUnderTest): void {
  let vhost: TestVhost;
  let env: Record<string, string>;
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-int-'));
  const mongoDb = `drover_int_${Date.now()}`;
  let profileDir: RunProfileDir | undefined;
  const running = new Set<ServiceProcess>();
  let gateway: ServiceProcess;
  let api: string;
  let monitored: string;

  const start = async (name: string, extra: Record<string, string> = {}) => {
    const service = await startService(name, { ...env, ...extra });
    running.add(service);
    return service;
  };
  const status = async (agentId: string) => (await http(`${api}/agents/${agentId}`)).body;
  /** Waits for the agent's view to pass `check`; on a timeout, says what the view was and what the services logged last. */
  const until = async (agentId: string, check: (view: Item) => boolean, timeoutMs = 20_000) => {
    let last: Item | undefined;
    try {
      return await eventually(
        `${agentId} to match`,
        async () => {
          last = await status(agentId);
          return check(last) ? last : undefined;
        },
        timeoutMs,
      );
    } catch (error) {
      const logs = [...running].map((service) => `--- ${service.name}\n${service.output().slice(-3_000)}`).join('\n');
      throw new Error(`${(error as Error).message}; its view was ${JSON.stringify(last)}\n${logs}`);
    }
  };
  const startBody = (agentId: string) => ({
    agentId,
    behavior: 'http-monitor',
    config: { url: monitored, intervalMs: 200 },
  });

  beforeAll(async () => {
    vhost = await createTestVhost(RABBITMQ_URL!);
    const profile = {
      name: 'int',
      // Its agents aim at servers on 127.0.0.1 (docs/security.md, "Egress policy").
      egress: { allow: ['loopback'] },
      // The lease allows for a loaded machine: a heartbeat that lands late must not interrupt agents.
      sessionAgent: { maxConcurrentAgents: 64, heartbeatMs: 200, leaseMs: 5_000 },
      recovery: { onInterrupt: 'restart', maxAttempts: 3, backoffInitialMs: 200, backoffMaxMs: 1_000 },
      gateway: { commandTimeoutMs: 3_000, queryTimeoutMs: 3_000 },
      // A start committed just before the engine is SIGKILLed waits for a new engine to start and
      // for the dead one's lease (4 s) to run out; on FerretDB in a loaded CI run that took more
      // than 10 s, and a start that times out is (rightly) restarted as attempt 2.
      engine: { leaseMs: 4_000 },
      scheduler: { tickMs: 200, startTimeoutMs: 30_000 },
      agents: [
        { agentId: 'declared-1', behavior: 'http-monitor', config: { url: 'http://127.0.0.1:9/', intervalMs: 1000 } },
      ],
    };
    profileDir = writeRunProfile(profile);
    env = {
      RABBITMQ_URL: vhost.url,
      DROVER_DATA_DIR: dataDir,
      ...(store.kind === 'mongodb' ? { MONGO_URL: store.url, MONGO_DB: mongoDb } : {}),
      ...profileDir.env,
    };
  });

  afterAll(async () => {
    for (const service of running) await service.stop('SIGKILL');
    await vhost?.delete();
    rmSync(dataDir, { recursive: true, force: true });
    if (store.kind === 'mongodb') await dropDatabase(store.url, mongoDb);
    profileDir?.remove();
  });

  it('bootstraps twice with the same result, then every service starts and consumes its queues', async () => {
    const first = await runOnce('bootstrap', env);
    assert.equal(first.code, 0, first.output);
    expect(first.output).toMatch(/1 agent\(s\) registered/);
    const second = await runOnce('bootstrap', env, ['--profile', 'int']);
    assert.equal(second.code, 0, second.output);

    // Dead letters stay in their queues, where this test reads them (no dead-letter keeper).
    await start('persistence-agent', { DROVER_DEAD_LETTER_KEEPER: 'false' });
    const engine = await start('engine');
    await start('scheduler');
    await start('session-agent', { SESSION_AGENT_ID: 'sa-1' });
    gateway = await start('gateway');
    api = `${gateway.url}/api`;
    monitored = `${gateway.url}/live`;

    // The start bootstrap published before any engine ran is processed once.
    // Five services have just started: on a loaded machine their start-up alone can take 20 s.
    const declared = await until('declared-1', (v) => v.status === 'running', 60_000);
    expect(declared.version).toBe(2);
    // The management UI's figures lag by a few seconds.
    for (const queue of [
      'engine.commands',
      'engine.reports',
      'sessions.pending',
      'persistence.events',
      'persistence.tasks',
    ]) {
      await eventually(`a consumer on ${queue}`, async () =>
        (await managementQueue(vhost.name, queue)).consumers >= 1 ? true : undefined,
      );
    }
    const ready = await http(`${engine.opsUrl}/ready`);
    expect(ready.status).toBe(200);
  });

  it('runs the REST lifecycle: start, running with activities, 409, stop', async () => {
    const started = await http(`${api}/agents`, { method: 'POST', body: startBody('rest-1') });
    expect(started.status).toBe(202);
    await until('rest-1', (v) => v.status === 'running');
    await eventually('activities', async () => {
      const page = (await http(`${api}/agents/rest-1/activities?limit=50`)).body as { items: Item[] };
      return page.items.filter((a) => a.kind === 'http.check' && a.ok === true).length >= 2 ? true : undefined;
    });
    const again = await http(`${api}/agents`, { method: 'POST', body: startBody('rest-1') });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    const stopped = await http(`${api}/agents/rest-1`, { method: 'DELETE' });
    expect(stopped.status).toBe(202);
    await until('rest-1', (v) => v.status === 'stopped');
  });

  it('takes commands published straight to drover.commands, and dead-letters a poison one with its reason', async () => {
    await publishCommands(vhost.url, [
      { messageId: 'poison-1', type: 'agent.start', agentId: 'no spaces allowed', payload: {} },
      {
        messageId: 'bus-start-1',
        type: 'agent.start',
        agentId: 'bus-1',
        payload: { behavior: 'http-monitor', config: { url: monitored, intervalMs: 200 } },
      },
    ]);
    await until('bus-1', (v) => v.status === 'running');
    const connection = await amqp.connect(vhost.url);
    const channel = await connection.createChannel();
    const letter = await eventually(
      'dead letter',
      async () => (await channel.get('engine.commands.dead')) || undefined,
    );
    await connection.close();
    expect(letter.properties.messageId).toBe('poison-1');
    expect(String(letter.properties.headers?.['x-drover-death-reason'])).toMatch(/agentId/);
  });

  it('loses no command and duplicates no transition when the engine is SIGKILLed mid-stream', async () => {
    const engine = [...running].find((s) => s.name === 'engine')!;
    const agents = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
    const publishing = publishCommands(
      vhost.url,
      agents.map((agentId) => ({
        messageId: `burst-start-${agentId}`,
        type: 'agent.start',
        agentId,
        payload: { behavior: 'http-monitor', config: { url: monitored, intervalMs: 1000 } },
      })),
    );
    await engine.stop('SIGKILL');
    running.delete(engine);
    await publishing;
    await start('engine');
    for (const agentId of agents) {
      const view = await until(agentId, (v) => v.status === 'running');
      assert.equal(view.attempts, 1, `${agentId} attempts`);
      // Every command committed exactly once: one start, one started, nothing lost, nothing twice.
      // The view and the activities are written separately by the read side: wait for both.
      const transitions = await eventually(`${agentId}: both transitions in its activities`, async () => {
        const log = (await http(`${api}/agents/${agentId}/activities?limit=100`)).body as { items: Item[] };
        const kinds = log.items.map((a) => String(a.kind)).filter((kind) => kind.startsWith('agent.'));
        return kinds.length >= 2 ? kinds : undefined;
      });
      expect(transitions.sort()).toEqual(['agent.start-requested', 'agent.started']);
      assert.equal(view.version, 2, `${agentId} version`);
    }
  });

  it('recovers the agents of a SIGKILLed session agent on another one', async () => {
    const hosts: Record<string, ServiceProcess> = {
      'sa-1': [...running].find((s) => s.name === 'session-agent')!,
      'sa-2': await start('session-agent', { SESSION_AGENT_ID: 'sa-2' }),
    };
    const started = await http(`${api}/agents`, { method: 'POST', body: startBody('moved-1') });
    expect(started.status).toBe(202);
    const before = await until('moved-1', (v) => v.status === 'running');
    const victim = hosts[before.instanceId as string]!;
    await victim.stop('SIGKILL');
    running.delete(victim);
    // The lease, the margin, a tick, the back-off and a new session; on FerretDB in a loaded CI
    // run this took up to about 30 s, and a tick slower than 2 s resets the heartbeat watch.
    const after = await until('moved-1', (v) => v.status === 'running' && v.attempts === 2, 60_000);
    expect(after.instanceId).not.toBe(before.instanceId);
    const log = (await http(`${api}/agents/moved-1/activities?limit=100`)).body as { items: Item[] };
    expect(log.items.some((a) => a.kind === 'agent.interrupted')).toBeTruthy();
  });

  it('keeps working after every broker connection is dropped', async () => {
    const dropped = await closeConnections(vhost.name);
    assert.ok(dropped >= 5, `dropped ${dropped} connections`);
    const started = await eventually('start accepted after reconnect', async () => {
      const response = await http(`${api}/agents`, { method: 'POST', body: startBody('after-drop') });
      return response.status === 202 ? response : undefined;
    });
    expect(started.status).toBe(202);
    // Every service reconnects within a second or two, but the read side then works through what
    // queued up meanwhile (heartbeats, activities, redelivered events); on FerretDB in a loaded CI
    // run the new agent's view took more than 20 s to appear.
    await until('after-drop', (v) => v.status === 'running', 60_000);
  });

  it('exports metrics and stops every service with exit 0 on SIGTERM', async () => {
    const engine = [...running].find((s) => s.name === 'engine')!;
    const metrics = await fetch(`${engine.opsUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/drover_commands_total\{[^}]*type="agent.start"/);
    for (const service of [...running]) {
      assert.equal(await service.stop('SIGTERM'), 0, `${service.name} exit code\n${service.output().slice(-2000)}`);
      running.delete(service);
    }
  });
}

async function dropDatabase(url: string, name: string): Promise<void> {
  const client = await MongoClient.connect(url);
  try {
    await client.db(name).dropDatabase();
  } finally {
    await client.close();
  }
}
