import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { BUS_ROLES, type BusRole } from '@drover/contracts';
import {
  createRoleUsers,
  createTestVhost,
  describeUnless,
  eventually,
  http,
  managementQueue,
  runOnce,
  skipUnlessCi,
  startService,
  writeRunProfile,
  type RoleUsers,
  type RunProfileDir,
  type ServiceProcess,
  type TestVhost,
} from '@drover/testing';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const skip = skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set');

type Item = Record<string, unknown>;

/**
 * The services as separate processes, each logged in as its own broker user with the permissions
 * of deploy/rabbitmq/definitions.json (in a test vhost), and DROVER_BUS_USERS set as compose sets
 * it: bootstrap declares the topology and its policy, every other service starts on it, and an
 * agent goes through its whole life, so no service needs a right its user lacks.
 */
describeUnless(skip, 'production mode with a broker user per service', () => {
  let vhost: TestVhost;
  let roles: RoleUsers;
  let profileDir: RunProfileDir | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-users-'));
  const running: ServiceProcess[] = [];
  let common: Record<string, string>;

  const envOf = (role: BusRole) => ({ ...common, RABBITMQ_URL: roles.url(role) });
  const start = async (role: BusRole, extra: Record<string, string> = {}) => {
    const service = await startService(role, { ...envOf(role), ...extra });
    running.push(service);
    return service;
  };

  beforeAll(async () => {
    assert.ok(RABBITMQ_URL);
    vhost = await createTestVhost(RABBITMQ_URL, 'drover-users');
    roles = await createRoleUsers(join(__dirname, '../../..'), RABBITMQ_URL, vhost.name);
    profileDir = writeRunProfile({
      name: 'users',
      sessionAgent: { maxConcurrentAgents: 8, heartbeatMs: 200, leaseMs: 5_000 },
      gateway: { commandTimeoutMs: 5_000, queryTimeoutMs: 5_000 },
      scheduler: { tickMs: 200, startTimeoutMs: 30_000 },
      agents: [],
    });
    common = {
      DROVER_DATA_DIR: dataDir,
      DROVER_BUS_USERS: BUS_ROLES.map((role) => `${role}=${roles.names[role]}`).join(';'),
      ...profileDir.env,
    };
  });
  afterAll(async () => {
    for (const service of running) await service.stop('SIGKILL');
    await roles?.delete();
    await vhost?.delete();
    profileDir?.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('bootstraps, starts every service on its own user, and runs an agent from start to stop', async () => {
    const bootstrap = await runOnce('bootstrap', envOf('bootstrap'));
    assert.equal(bootstrap.code, 0, bootstrap.output);
    // Dead letters stay in their queues, where this test reads them (no dead-letter keeper).
    await start('persistence-agent', { DROVER_DEAD_LETTER_KEEPER: 'false' });
    await start('engine');
    await start('scheduler');
    await start('session-agent', { SESSION_AGENT_ID: 'sa-users-1' });
    const gateway = await start('gateway');
    const api = `${gateway.url}/api`;

    const started = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'users-1', behavior: 'http-monitor', config: { url: `${gateway.url}/live`, intervalMs: 200 } },
    });
    expect(started.status).toBe(202);
    await eventually(
      'users-1 running with activities',
      async () => {
        const view = (await http(`${api}/agents/users-1`)).body as Item;
        const page = (await http(`${api}/agents/users-1/activities?limit=5`)).body as { items?: Item[] };
        return view.status === 'running' && (page.items ?? []).some((a) => a.kind === 'http.check') ? true : undefined;
      },
      60_000,
    );
    const stopped = await http(`${api}/agents/users-1`, { method: 'DELETE' });
    expect(stopped.status).toBe(202);
    await eventually('users-1 stopped', async () =>
      ((await http(`${api}/agents/users-1`)).body as Item).status === 'stopped' ? true : undefined,
    );
    // The consumers tell senders apart: an operator's scheduler-only command is dead-lettered, not processed.
    const connection = await amqp.connect(roles.url('operator'));
    const channel = await connection.createConfirmChannel();
    const recover = { messageId: 'users-recover-1', type: 'agent.recover', agentId: 'users-1', payload: {} };
    channel.publish('drover.commands', recover.type, Buffer.from(JSON.stringify(recover)), {
      messageId: recover.messageId,
      userId: roles.names.operator,
      contentType: 'application/json',
    });
    await channel.waitForConfirms();
    await connection.close();
    await eventually('the operator’s agent.recover dead-lettered', async () =>
      (await managementQueue(vhost.name, 'engine.commands.dead')).messages >= 1 ? true : undefined,
    );
    expect(((await http(`${api}/agents/users-1`)).body as Item).status).toBe('stopped');
    // Every service kept running: none was refused a right it needs.
    for (const service of running)
      expect(await Promise.race([service.exited, Promise.resolve('running')])).toBe('running');
  });
});
