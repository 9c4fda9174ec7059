import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { Exchanges, type BusRole, type CommandReply } from '@drover/contracts';
import { DEFAULT_RECOVERY_POLICY } from '@drover/domain';
import { DEATH_REASON_HEADER, Queues, SenderGuardBus, type Delivery } from '@drover/messaging';
import { SecretBox, silentLogger, systemClock } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import {
  createRoleUsers,
  createTestVhost,
  describeUnless,
  eventually,
  skipUnlessCi,
  type RoleUsers,
  type TestVhost,
} from '@drover/testing';
import { Engine } from '../src/engine';
import { join } from 'node:path';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const skip = skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set');

const start = (agentId: string, messageId: string) => ({
  messageId,
  type: 'agent.start',
  agentId,
  payload: { behavior: 'http-monitor', config: { url: 'http://127.0.0.1:1/', intervalMs: 1000 } },
});

/**
 * The engine on RabbitMQ with a broker user per service (the users and permissions of
 * deploy/rabbitmq/definitions.json, in a test vhost) and senders told apart: message ids reused
 * for another agent or command and reserved id prefixes from the wrong sender are dead-lettered
 * with the reason, never committed.
 */
describeUnless(skip, 'engine: message ids on a bus with a user per service', () => {
  let vhost: TestVhost;
  let roles: RoleUsers;
  let store: Store;
  let engine: Engine;
  const dead: Delivery[] = [];

  const connectAs = (role: BusRole, declareTopology = false) => roles.connect(role, { declareTopology });
  const deathOf = (messageId: string) =>
    eventually(`${messageId} dead-lettered`, async () => {
      const letter = dead.find((d) => (d.body as { messageId?: string }).messageId === messageId);
      return letter && String(letter.headers[DEATH_REASON_HEADER]);
    });

  beforeAll(async () => {
    assert.ok(RABBITMQ_URL);
    vhost = await createTestVhost(RABBITMQ_URL, 'drover-senders');
    roles = await createRoleUsers(join(__dirname, '../../..'), RABBITMQ_URL, vhost.name);
    const bootstrap = await connectAs('bootstrap', true);
    await bootstrap.subscribe(`${Queues.engineCommands}.dead`, async (delivery) => void dead.push(delivery));
    store = openSqliteStore({ filename: ':memory:' });
    const bus = new SenderGuardBus(await connectAs('engine'), roles.users);
    engine = new Engine(
      { bus, store, clock: systemClock, logger: silentLogger(), secrets: SecretBox.fresh() },
      { policy: DEFAULT_RECOVERY_POLICY },
    );
    await engine.start();
  });
  afterAll(async () => {
    await engine?.stop();
    await store?.close();
    await roles?.delete();
    await vhost?.delete();
  });

  it('answers a messageId reused for another agent with message_id_reused and dead-letters it', async () => {
    const gateway = await connectAs('gateway');
    const ask = (body: Record<string, unknown>) =>
      gateway.request<CommandReply>(Exchanges.commands, body.type as string, body, { timeoutMs: 10_000 });
    const first = await ask(start('ids-1', 'ids-reused'));
    expect(first.ok && first.outcome).toBe('accepted');
    const reused = await ask(start('ids-2', 'ids-reused'));
    assert.ok(!reused.ok);
    expect(reused.error.code).toBe('message_id_reused');
    expect(await deathOf('ids-reused')).toBe(
      'messageId ids-reused was already used for agent ids-1; use a new messageId',
    );
    expect(await store.streams.load('ids-2')).toEqual([]);
  });

  it("dead-letters an operator's command using the scheduler's id prefix, and takes the scheduler's", async () => {
    const messageId = 'scheduler:agent.stop:ids-1:1';
    const stop = { messageId, type: 'agent.stop', agentId: 'ids-1', payload: {} };
    const operator = await connectAs('operator');
    await operator.publish(Exchanges.commands, stop.type, stop, { messageId });
    expect(await deathOf(messageId)).toBe(
      'messageId prefix "scheduler:" is reserved for the scheduler, not the operator',
    );
    expect((await store.streams.load('ids-1')).map((commit) => commit.commandId)).toEqual(['ids-reused']);
    const scheduler = await connectAs('scheduler');
    await scheduler.publish(Exchanges.commands, stop.type, stop, { messageId });
    await eventually('the scheduler’s stop committed', async () =>
      (await store.streams.findByCommandId(messageId)) ? true : undefined,
    );
  });

  it("seals an operator's start sent with its proxy password in clear, and commits the sealed copy as the operator's", async () => {
    const operator = await connectAs('operator');
    const body = start('clear-op', 'clear-op-start');
    await operator.publish(
      Exchanges.commands,
      'agent.start',
      { ...body, payload: { ...body.payload, proxy: 'http://op:Op-Secret-1@127.0.0.1:9' } },
      { messageId: 'clear-op-start' },
    );
    const commits = await eventually('the sealed start committed', async () => {
      const found = await store.streams.load('clear-op');
      return found.length > 0 ? found : undefined;
    });
    expect(JSON.stringify(commits)).not.toContain('Op-Secret-1');
    expect(JSON.stringify(commits)).toContain('http://***:***@127.0.0.1:9');
    expect(dead.some((d) => (d.body as { messageId?: string }).messageId === 'clear-op-start')).toBe(false);
  });
});
