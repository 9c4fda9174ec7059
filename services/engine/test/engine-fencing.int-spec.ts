import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { MongoClient, type Db } from 'mongodb';
import {
  createTestVhost,
  describeUnless,
  eventually,
  managementQueue,
  runOnce,
  skipUnlessCi,
  startService,
  writeRunProfile,
  type RunProfileDir,
  type ServiceProcess,
  type TestVhost,
} from '@drover/testing';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const MONGO_URL = process.env.MONGO_URL;
const skip = skipUnlessCi((!RABBITMQ_URL && 'RABBITMQ_URL is not set') || (!MONGO_URL && 'MONGO_URL is not set'));

/** The engine's lease in this test: short, so a frozen engine loses its agents quickly. */
const LEASE_MS = 1_000;
const AGENTS = Array.from({ length: 12 }, (_, i) => `fenced-${i}`);

interface EventSeen {
  agentId: string;
  version: number;
}

/**
 * Two engine processes on one MongoDB store and broker. One is frozen with SIGSTOP while it holds an
 * agent's lease, kept frozen past the lease while the other takes the agent over and commits,
 * then resumed. The resumed engine must not commit or relay for the agent it lost: every
 * command is committed at most once, every stream is one linear history, and each agent's
 * events leave in version order.
 *
 * MongoDB, not SQLite: a process frozen inside a SQLite write transaction holds the file's one
 * write lock, which stops every other writer too (the fencing of the SQLite adapter is one
 * transaction, pinned by the store contract suite).
 */
describeUnless(skip, 'engine leases fence a frozen engine (SIGSTOP)', () => {
  let vhost: TestVhost;
  const dbName = `drover_fencing_${Date.now()}`;
  let mongo: MongoClient;
  let db: Db;
  let profileDir: RunProfileDir | undefined;
  const engines: ServiceProcess[] = [];
  let env: Record<string, string>;
  let connection: amqp.ChannelModel;
  let channel: amqp.ConfirmChannel;
  const seen: EventSeen[] = [];
  let sequence = 0;

  /**
   * Start, stop, interrupt, in turn: without a session agent these take an agent from stopped
   * to starting, stopping and stopped again, each committing a version when taken in order.
   * Taken out of order, one may be refused or a no-op; in every state one of the three commits.
   */
  const nextCommand = (agentId: string, count: number) => {
    sequence += 1;
    const messageId = `${agentId}:cmd-${sequence}`;
    switch (count % 3) {
      case 0:
        return {
          messageId,
          type: 'agent.start',
          agentId,
          payload: { behavior: 'http-monitor', config: { url: 'http://127.0.0.1:9/', intervalMs: 60_000 } },
        };
      case 1:
        return { messageId, type: 'agent.stop', agentId, payload: {} };
      default:
        return { messageId, type: 'agent.interrupt', agentId, payload: { reason: 'fencing test' } };
    }
  };
  const sent = new Map<string, number>();
  async function publish(agentIds: string[]): Promise<void> {
    for (const agentId of agentIds) {
      const count = sent.get(agentId) ?? 0;
      sent.set(agentId, count + 1);
      const command = nextCommand(agentId, count);
      channel.publish('drover.commands', command.type, Buffer.from(JSON.stringify(command)), {
        messageId: command.messageId,
        persistent: true,
        contentType: 'application/json',
      });
    }
    await channel.waitForConfirms();
  }

  interface StoredCommit {
    agentId: string;
    version: number;
    commandId: string;
    dispatchedAt?: string;
  }
  async function commits(): Promise<StoredCommit[]> {
    const streams = await db
      .collection<{ _id: string; commits: Omit<StoredCommit, 'agentId'>[] }>('streams')
      .find()
      .toArray();
    return streams.flatMap((stream) => stream.commits.map((c) => ({ ...c, agentId: stream._id })));
  }
  const headOf = async (agentId: string) =>
    Math.max(0, ...(await commits()).filter((c) => c.agentId === agentId).map((c) => c.version));
  /** An agent whose lease `owner` holds right now. */
  async function heldBy(owner: string): Promise<string | undefined> {
    const lease = await db
      .collection<{ _id: string; owner: string; expiresAt: number }>('leases')
      .findOne({ owner, expiresAt: { $gt: Date.now() } });
    return lease?._id.replace(/^agent:/, '');
  }
  const ownerOf = (engine: ServiceProcess) => {
    const owner = /"owner":"(engine-[^"]+)"/.exec(engine.output())?.[1];
    assert.ok(owner, `engine printed its owner:\n${engine.output()}`);
    return owner;
  };

  beforeAll(async () => {
    vhost = await createTestVhost(RABBITMQ_URL!);
    profileDir = writeRunProfile({ name: 'fencing', engine: { leaseMs: LEASE_MS }, egress: { allow: ['loopback'] } });
    mongo = await MongoClient.connect(MONGO_URL!);
    db = mongo.db(dbName);
    env = {
      RABBITMQ_URL: vhost.url,
      MONGO_URL: MONGO_URL!,
      MONGO_DB: dbName,
      ...profileDir.env,
    };
    const bootstrap = await runOnce('bootstrap', env);
    assert.equal(bootstrap.code, 0, bootstrap.output);
    connection = await amqp.connect(vhost.url);
    channel = await connection.createConfirmChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'drover.events', '#');
    await channel.consume(queue, (message) => {
      if (!message) return;
      const body = JSON.parse(message.content.toString()) as EventSeen;
      // Domain events carry their version; other messages on the exchange do not matter here.
      if (typeof body.version === 'number') seen.push({ agentId: body.agentId, version: body.version });
      channel.ack(message);
    });
    for (let i = 0; i < 2; i += 1) engines.push(await startService('engine', env));
  });

  afterAll(async () => {
    for (const engine of engines) {
      engine.child.kill('SIGCONT');
      await engine.stop('SIGKILL');
    }
    await connection?.close().catch(() => undefined);
    await vhost?.delete();
    await db?.dropDatabase();
    await mongo?.close();
    profileDir?.remove();
  });

  it('refuses the frozen engine’s work on the agent it lost, and keeps every stream linear', async () => {
    const [frozen, other] = engines;
    assert.ok(frozen && other);
    const frozenOwner = ownerOf(frozen);

    await publish(AGENTS);
    await eventually('the first commits', async () => ((await commits()).length >= AGENTS.length ? true : undefined));

    // SIGSTOP lands wherever the engine is: before its append (which must then be refused), or
    // after it (then there is nothing to refuse, and the other engine relays what it left). So
    // freeze it, each round the moment it is seen holding a lease, until a refusal was seen.
    let refusals = 0;
    for (let round = 0; round < 15 && refusals === 0; round += 1) {
      await publish(AGENTS);
      let agent: string | undefined;
      const until = Date.now() + 2_000;
      while (!agent && Date.now() < until) agent = await heldBy(frozenOwner);
      if (!agent) continue;
      frozen.child.kill('SIGSTOP');
      const versionAtFreeze = await headOf(agent);

      // Past the lease, the other engine takes the agent over and commits for it. (The broker
      // still hands the frozen engine messages until its prefetch is full: keep sending.)
      const held = agent;
      await eventually(
        `the other engine commits for ${held} while the first is frozen`,
        async () => {
          await publish([held, held, held]);
          return (await headOf(held)) > versionAtFreeze ? true : undefined;
        },
        30_000,
      );
      frozen.child.kill('SIGCONT');
      await sleep(LEASE_MS);
      refusals = frozen.output().match(new RegExp(`"agentId":"${held}"[^\\n]*lease lost`, 'g'))?.length ?? 0;
    }
    assert.ok(refusals > 0, `the resumed engine had its work on a lost agent refused:\n${frozen.output()}`);

    // Everything settles: no command waits in a queue, nothing waits in an outbox.
    await eventually(
      'every queue drained and every commit relayed',
      async () => {
        for (const name of ['engine.commands', 'engine.commands.retry', 'engine.reports']) {
          const queue = await managementQueue(vhost.name, name).catch(() => ({ messages: 0 }));
          if (queue.messages > 0) return undefined;
        }
        return (await commits()).every((c) => c.dispatchedAt) ? true : undefined;
      },
      60_000,
    );

    const all = await commits();
    // Each command committed at most once (the primary key makes versions unique per agent).
    const commandIds = all.map((c) => c.commandId);
    expect(new Set(commandIds).size).toBe(commandIds.length);
    // One linear history per agent: versions 1..n with no gap.
    for (const agentId of AGENTS) {
      const versions = all
        .filter((c) => c.agentId === agentId)
        .map((c) => c.version)
        .sort((a, b) => a - b);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
    }
    // Each agent's events were first seen in version order (a redelivered copy may come later).
    for (const agentId of AGENTS) {
      const firstSeen: number[] = [];
      for (const event of seen.filter((e) => e.agentId === agentId)) {
        if (!firstSeen.includes(event.version)) firstSeen.push(event.version);
      }
      expect(firstSeen).toEqual([...firstSeen].sort((a, b) => a - b));
    }
  });
});
