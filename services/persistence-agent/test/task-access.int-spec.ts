import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Exchanges, RoutingKeys, type BusRole, type PersistenceReply } from '@drover/contracts';
import { DEATH_REASON_HEADER, Queues, SenderGuardBus, type Delivery } from '@drover/messaging';
import { silentLogger, systemClock } from '@drover/runtime';
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
import { PersistenceAgent } from '../src/persistence-agent';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const skip = skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set');

/**
 * Generic tasks on RabbitMQ with a broker user per service (definitions.json's permissions in a test vhost):
 * the persistence agent lets each sender touch only its role's collections, by the sender's verified user_id;
 * a task on another collection is answered `forbidden` naming it and dead-lettered with the reason.
 */
describeUnless(skip, 'persistence agent: generic tasks by the sender role', () => {
  let vhost: TestVhost;
  let roles: RoleUsers;
  let store: Store;
  let agent: PersistenceAgent;
  const dead: Delivery[] = [];

  const connectAs = (role: BusRole, declareTopology = false) => roles.connect(role, { declareTopology });
  const taskAs = async (role: BusRole, task: Record<string, unknown>) =>
    (await connectAs(role)).request<PersistenceReply>(Exchanges.persistence, RoutingKeys.persistenceTask, task, {
      timeoutMs: 10_000,
    });

  beforeAll(async () => {
    assert.ok(RABBITMQ_URL);
    vhost = await createTestVhost(RABBITMQ_URL, 'drover-tasks');
    roles = await createRoleUsers(join(__dirname, '../../..'), RABBITMQ_URL, vhost.name);
    const bootstrap = await connectAs('bootstrap', true);
    await bootstrap.subscribe(`${Queues.persistenceTasks}.dead`, async (delivery) => void dead.push(delivery));
    store = openSqliteStore({ filename: ':memory:' });
    const bus = new SenderGuardBus(await connectAs('persistence-agent'), roles.users);
    agent = new PersistenceAgent({ bus, store, clock: systemClock, logger: silentLogger() });
    await agent.start();
  });
  afterAll(async () => {
    await agent?.stop();
    await store?.close();
    await roles?.delete();
    await vhost?.delete();
  });

  it('lets a session agent keep cookies, and refuses it any other collection with a clear error', async () => {
    const saved = await taskAs('session-agent', {
      op: 'upsert',
      collection: 'agent_cookies',
      id: 'a-1',
      document: { cookies: [] },
    });
    expect(saved).toEqual({ ok: true, result: { id: 'a-1' } });
    const refused = await taskAs('session-agent', { op: 'upsert', collection: 'profiles', id: 'p', document: {} });
    const reason = 'the session-agent may not write collection profiles (it may write: agent_cookies, agent_state)';
    expect(refused).toEqual({
      ok: false,
      error: { code: 'forbidden', message: reason, details: [{ field: 'collection', message: reason }] },
    });
    const letter = await eventually('the refused task dead-lettered', async () =>
      dead.find((d) => (d.body as { collection?: string }).collection === 'profiles'),
    );
    expect(letter.headers[DEATH_REASON_HEADER]).toBe(reason);
    expect(await store.documents.collection('profiles').count()).toBe(0);
  });

  it('lets the gateway read agents and activities, never write them', async () => {
    expect(await taskAs('gateway', { op: 'count', collection: 'agents' })).toEqual({ ok: true, result: { count: 0 } });
    const write = await taskAs('gateway', { op: 'upsert', collection: 'agents', id: 'x', document: {} });
    assert.ok(!write.ok);
    expect(write.error.code).toBe('forbidden');
    expect(write.error.message).toMatch(/the gateway may not write collection agents/);
    const cookies = await taskAs('gateway', { op: 'find', collection: 'agent_cookies' });
    assert.ok(!cookies.ok);
    expect(cookies.error.message).toMatch(/may not read collection agent_cookies/);
  });
});
