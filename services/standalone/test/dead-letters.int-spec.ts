import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import amqp from 'amqplib';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { MongoClient } from 'mongodb';
import {
  Collections,
  Exchanges,
  RoutingKeys,
  type BusRole,
  type CommandView,
  type DeadLetterView,
  type FleetView,
  type Page,
} from '@drover/contracts';
import { DEFAULT_RECOVERY_POLICY } from '@drover/domain';
import { DROVER_TOPOLOGY, SenderGuardBus, type Bus } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { SecretBox, silentLogger, systemClock } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openMongoStore } from '@drover/store/mongodb';
import { openSqliteStore } from '@drover/store/sqlite';
import { createRoleUsers, createTestVhost, eventually, http, type RoleUsers, type TestVhost } from '@drover/testing';
// The standalone service's tests are the place allowed to compose other services.
import { Engine } from '../../engine/src/engine';
import { createGatewayApp } from '../../gateway/src/gateway.module';
import { PersistenceAgent } from '../../persistence-agent/src/persistence-agent';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const MONGO_URL = process.env.MONGO_URL;

/** The services these tests need, each on the bus of its own role (one shared bus on the in-memory variant). */
interface System {
  api: string;
  /** Publishes as an operator would, straight to the broker. */
  operator: Bus;
  /** Publishes as a session agent (heartbeats). */
  sessionAgent: Bus;
  store: Store;
  /** Publishes bytes that are not JSON to `drover.commands` (RabbitMQ only: the in-memory bus carries objects). */
  publishRaw?: (routingKey: string, content: Buffer, messageId?: string) => Promise<void>;
  stop(): Promise<void>;
}

async function compose(
  store: Store,
  busOf: (role: BusRole) => Promise<Bus>,
  guard: (bus: Bus) => Bus,
): Promise<Omit<System, 'store' | 'stop'> & { stop(): Promise<void> }> {
  const persistence = new PersistenceAgent(
    { bus: guard(await busOf('persistence-agent')), store, clock: systemClock, logger: silentLogger() },
    { keepDeadLetters: true },
  );
  const engine = new Engine(
    {
      bus: guard(await busOf('engine')),
      store,
      clock: systemClock,
      logger: silentLogger(),
      secrets: SecretBox.fresh(),
    },
    { policy: DEFAULT_RECOVERY_POLICY },
  );
  await persistence.start();
  await engine.start();
  const gateway: INestApplication = await createGatewayApp({
    bus: await busOf('gateway'),
    logger: silentLogger(),
    config: { commandTimeoutMs: 10_000, queryTimeoutMs: 10_000 },
  });
  await gateway.listen(0, '127.0.0.1');
  const { port } = (gateway.getHttpServer() as Server).address() as AddressInfo;
  return {
    api: `http://127.0.0.1:${port}/api`,
    operator: await busOf('operator'),
    sessionAgent: await busOf('session-agent'),
    stop: async () => {
      await gateway.close();
      await engine.stop();
      await persistence.stop();
    },
  };
}

interface Variant {
  name: string;
  /** The bus carries bytes (RabbitMQ), so content that is not JSON can be published. */
  carriesBytes?: boolean;
  skip?: string;
  start(): Promise<System>;
}

const variants: Variant[] = [
  {
    name: 'SQLite, in-memory bus',
    start: async () => {
      const bus = new InMemoryBus(DROVER_TOPOLOGY);
      const store = openSqliteStore({ filename: ':memory:' });
      const system = await compose(
        store,
        async () => bus,
        (inner) => inner,
      );
      return {
        ...system,
        store,
        stop: async () => {
          await system.stop();
          await bus.close();
          await store.close();
        },
      };
    },
  },
  {
    name: 'MongoDB, RabbitMQ with a broker user per service',
    carriesBytes: true,
    skip: !RABBITMQ_URL ? 'RABBITMQ_URL is not set' : !MONGO_URL ? 'MONGO_URL is not set' : undefined,
    start: async () => {
      const vhost: TestVhost = await createTestVhost(RABBITMQ_URL!, 'drover-dead-letters');
      const roles: RoleUsers = await createRoleUsers(join(__dirname, '../../..'), RABBITMQ_URL!, vhost.name);
      await roles.connect('bootstrap', { declareTopology: true });
      const dbName = `drover_dead_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const store = await openMongoStore(MONGO_URL!, { dbName });
      const system = await compose(
        store,
        (role) => roles.connect(role),
        (inner) => new SenderGuardBus(inner, roles.users),
      );
      return {
        ...system,
        store,
        publishRaw: async (routingKey, content, messageId) => {
          const connection = await amqp.connect(vhost.url);
          try {
            const channel = await connection.createConfirmChannel();
            channel.publish(Exchanges.commands, routingKey, content, {
              contentType: 'application/json',
              persistent: true,
              ...(messageId ? { messageId } : {}),
            });
            await channel.waitForConfirms();
          } finally {
            await connection.close();
          }
        },
        stop: async () => {
          await system.stop();
          await store.close();
          const client = await MongoClient.connect(MONGO_URL!);
          await client.db(dbName).dropDatabase();
          await client.close();
          await roles.delete();
          await vhost.delete();
        },
      };
    },
  },
];

const monitor = { behavior: 'http-monitor', config: { url: 'http://127.0.0.1:1/', intervalMs: 60_000 } };

/**
 * Dead letters through the API on a running system (engine, persistence agent with its
 * dead-letter keeper, gateway): a command that dies is filed with its reason, origin and redacted
 * body, listed and shown; replaying it publishes a copy under a new id that the engine processes
 * and the command log marks as a replay; what may not be replayed answers 409; and the fleet
 * summary reads the same system.
 */
describe.each(variants.filter((variant) => variant.skip === undefined))('dead letters on $name', (variant) => {
  let system: System;
  const run = randomUUID().slice(0, 8);
  const agent = (name: string) => `${name}-${run}`;

  const publish = (body: { messageId: string; type: string }) =>
    system.operator.publish(Exchanges.commands, body.type, body, { messageId: body.messageId });
  /** The dead letter of this message id, once filed. */
  const filed = (messageId: string) =>
    eventually(
      `the dead letter of ${messageId} filed`,
      async () => {
        const page = await http(`${system.api}/dead-letters?queue=engine.commands&limit=1000`);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        return (page.body as unknown as Page<DeadLetterView>).items.find((item) => item.messageId === messageId);
      },
      30_000,
    );

  beforeAll(async () => {
    system = await variant.start();
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('files a malformed command with its reason and body, lists it and shows it', async () => {
    const messageId = `bad-${run}`;
    await publish({ messageId, type: 'agent.start', agentId: 'not an id', payload: monitor } as never);
    const listed = await filed(messageId);
    expect(listed).toMatchObject({
      queue: 'engine.commands',
      deadLetterQueue: 'engine.commands.dead',
      exchange: Exchanges.commands,
      routingKey: 'agent.start',
      type: 'agent.start',
      agentId: 'not an id',
      replayable: true,
      replays: [],
    });
    expect(listed.reason).toMatch(/agentId/);
    const shown = await http(`${system.api}/dead-letters/${listed.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual(listed);
    expect((shown.body as unknown as DeadLetterView).body).toEqual({
      messageId,
      type: 'agent.start',
      agentId: 'not an id',
      payload: monitor,
    });
  });

  it('stores a body holding a secret in clear redacted, and refuses to replay it', async () => {
    const messageId = `leak-${run}`;
    const secret = `s3cr3t-${run}`;
    await publish({
      messageId,
      type: 'agent.stop',
      agentId: agent('leaky'),
      payload: { reason: 'by hand', apiKey: secret, callback: `https://bob:${secret}@example.com/` },
    } as never);
    const letter = await filed(messageId);
    expect(letter.replayable).toBe(false);
    expect(letter.notReplayableReason).toMatch(/redacted/);
    expect((letter.body as { payload: unknown }).payload).toEqual({
      reason: 'by hand',
      apiKey: '***',
      callback: 'https://***:***@example.com/',
    });
    const stored = await system.store.documents.collection(Collections.deadLetters).find();
    expect(JSON.stringify(stored)).not.toContain(secret);
    const replay = await http(`${system.api}/dead-letters/${letter.id}/replay`, { method: 'POST' });
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({ error: { code: 'not_replayable' } });
    expect(String((replay.body as { error: { message: string } }).error.message)).toMatch(/redacted/);
  });

  // The in-memory bus carries objects: there, content that is not JSON cannot exist.
  (variant.carriesBytes ? it : it.skip)(
    'files content that is not JSON with its reason, never its content, and refuses to replay it',
    async () => {
      assert.ok(system.publishRaw);
      const secret = `password=hunter2-${run}`;
      // Two without a message id: each is filed, told apart by a digest of its content.
      await system.publishRaw('agent.start', Buffer.from(`not json ${secret}`));
      await system.publishRaw('agent.start', Buffer.from(`not json either ${secret}`));
      const letters = await eventually(
        'both filed',
        async () => {
          const page = await http(`${system.api}/dead-letters?queue=engine.commands&limit=1000`);
          const items = (page.body as unknown as Page<DeadLetterView>).items.filter(
            (item) => typeof item.headers?.['x-drover-invalid-content'] === 'string',
          );
          return items.length >= 2 ? items : undefined;
        },
        30_000,
      );
      for (const letter of letters) {
        expect(letter.reason).toMatch(/^invalid content/);
        expect(letter.body).toBeNull();
        expect(letter.replayable).toBe(false);
        expect(letter.notReplayableReason).toMatch(/not JSON .*bytes, sha256 [0-9a-f]{16}/);
        expect(JSON.stringify(letter)).not.toContain('hunter2');
        const replay = await http(`${system.api}/dead-letters/${letter.id}/replay`, { method: 'POST' });
        expect(replay.status).toBe(409);
      }
      expect(new Set(letters.map((letter) => letter.id)).size).toBe(letters.length);
    },
  );

  it("refuses to replay a scheduler's command: the gateway may not send it", async () => {
    const messageId = `recover-${run}`;
    await publish({ messageId, type: 'agent.recover', agentId: agent('sched'), payload: { extra: 1 } } as never);
    const letter = await filed(messageId);
    expect(letter.replayable).toBe(false);
    const replay = await http(`${system.api}/dead-letters/${letter.id}/replay`, { method: 'POST' });
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({ error: { code: 'not_replayable' } });
    expect(String((replay.body as { error: { message: string } }).error.message)).toMatch(/agent\.recover/);
  });

  it('replays a start refused for a reused message id under a new id: processed, and recorded as a replay', async () => {
    // The first start takes the id; a second start for another agent under the same id is refused and dead-lettered.
    const messageId = `shared-${run}`;
    await publish({ messageId, type: 'agent.start', agentId: agent('first'), payload: monitor } as never);
    await eventually('the first start committed', async () => {
      const found = await http(`${system.api}/commands/${messageId}`);
      return found.status === 200 && (found.body as unknown as CommandView).state === 'accepted' ? true : undefined;
    });
    await publish({ messageId, type: 'agent.start', agentId: agent('second'), payload: monitor } as never);
    const letter = await filed(messageId);
    expect(letter).toMatchObject({ agentId: agent('second'), replayable: true });
    expect(letter.reason).toMatch(/messageId|message id/i);

    const replay = await http(`${system.api}/dead-letters/${letter.id}/replay`, { method: 'POST' });
    expect(replay.status).toBe(202);
    const { messageId: replayId, deadLetterId } = replay.body as { messageId: string; deadLetterId: string };
    expect(deadLetterId).toBe(letter.id);
    expect(replayId).toMatch(/^replay:[0-9a-f-]{36}$/);

    const command = await eventually('the replay processed', async () => {
      const found = await http(`${system.api}/commands/${encodeURIComponent(replayId)}`);
      const view = found.body as unknown as CommandView;
      return found.status === 200 && view.state !== 'received' ? view : undefined;
    });
    expect(command).toMatchObject({
      agentId: agent('second'),
      type: 'agent.start',
      state: 'accepted',
      replayOf: letter.id,
    });
    const second = await http(`${system.api}/agents/${agent('second')}`);
    expect(second.status).toBe(200);

    const shown = await eventually('the replay recorded on the dead letter', async () => {
      const found = (await http(`${system.api}/dead-letters/${letter.id}`)).body as unknown as DeadLetterView;
      return found.replays.length === 1 ? found : undefined;
    });
    expect(shown.replays[0]?.messageId).toBe(replayId);

    // Replaying again is allowed: another copy under another id.
    const again = await http(`${system.api}/dead-letters/${letter.id}/replay`, { method: 'POST' });
    expect(again.status).toBe(202);
    expect((again.body as { messageId: string }).messageId).not.toBe(replayId);
    await eventually('both replays recorded', async () => {
      const found = (await http(`${system.api}/dead-letters/${letter.id}`)).body as unknown as DeadLetterView;
      return found.replays.length === 2 ? true : undefined;
    });
  });

  it('pages the list newest first, and answers a bad id with 400 and an unknown one with 404', async () => {
    const first = await http(`${system.api}/dead-letters?limit=2`);
    const page = first.body as unknown as Page<DeadLetterView>;
    expect(page.items).toHaveLength(2);
    assert.ok(page.nextCursor);
    expect(page.items[0]!.deadLetteredAt >= page.items[1]!.deadLetteredAt).toBe(true);
    const next = (await http(`${system.api}/dead-letters?limit=2&cursor=${encodeURIComponent(page.nextCursor)}`))
      .body as unknown as Page<DeadLetterView>;
    expect(next.items.length).toBeGreaterThan(0);
    expect(next.items.some((item) => page.items.some((seen) => seen.id === item.id))).toBe(false);

    const bad = await http(`${system.api}/dead-letters/nope`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_request', details: [{ field: 'id' }] } });
    const badLimit = await http(`${system.api}/dead-letters?limit=0`);
    expect(badLimit.status).toBe(400);
    expect(badLimit.body).toMatchObject({ error: { details: [{ field: 'limit' }] } });
    const unknown = await http(`${system.api}/dead-letters/${'0'.repeat(32)}`);
    expect(unknown.status).toBe(404);
    const unknownReplay = await http(`${system.api}/dead-letters/${'0'.repeat(32)}/replay`, { method: 'POST' });
    expect(unknownReplay.status).toBe(404);
  });

  it('sums up the fleet: agents by status, session agents, queue depths and dead letters by queue', async () => {
    const instanceId = `sa-${run}`;
    const heartbeat = {
      messageId: `hb-${run}`,
      type: 'session.heartbeat',
      instanceId,
      capacity: 7,
      agentIds: [agent('hosted-1'), agent('hosted-2')],
      leaseMs: 30_000,
      alive: true,
      occurredAt: new Date().toISOString(),
    };
    await system.sessionAgent.publish(Exchanges.reports, RoutingKeys.heartbeat, heartbeat, {
      messageId: heartbeat.messageId,
    });
    const fleet = await eventually('the heartbeat recorded', async () => {
      const answer = await http(`${system.api}/fleet`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const view = answer.body as unknown as FleetView;
      return view.sessionAgents.some((host) => host.instanceId === instanceId) ? view : undefined;
    });
    expect(fleet.sessionAgents.find((host) => host.instanceId === instanceId)).toEqual({
      instanceId,
      capacity: 7,
      sessions: 2,
      alive: true,
      lastSeenAt: heartbeat.occurredAt,
    });
    // The agents the tests above started, by status, as the agent list shows them.
    const agents = (await http(`${system.api}/agents?limit=1000`)).body as unknown as Page<{ status: string }>;
    const counts: Record<string, number> = {};
    for (const item of agents.items) counts[item.status] = (counts[item.status] ?? 0) + 1;
    expect(agents.items.length).toBeGreaterThanOrEqual(2);
    expect(fleet.statusCounts).toEqual(counts);
    expect(fleet.queued).toBe(counts.queued ?? 0);

    const letters = (await http(`${system.api}/dead-letters?queue=engine.commands&limit=1000`))
      .body as unknown as Page<DeadLetterView>;
    expect(fleet.deadLetters.byQueue['engine.commands']).toBe(letters.items.length);
    expect(fleet.deadLetters.total).toBeGreaterThanOrEqual(letters.items.length);

    const engineQueue = fleet.queues.find((queue) => queue.name === 'engine.commands');
    expect(engineQueue?.consumers).toBeGreaterThanOrEqual(1);
    // The keeper consumes every dead-letter queue.
    expect(fleet.queues.find((queue) => queue.name === 'engine.commands.dead')?.consumers).toBeGreaterThanOrEqual(1);
    expect(fleet.queuesNote).toBeUndefined();
  });
});
