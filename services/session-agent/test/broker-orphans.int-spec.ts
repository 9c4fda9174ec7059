import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import {
  createTestVhost,
  describeUnless,
  eventually,
  skipUnlessCi,
  startService,
  writeRunProfile,
  type RunProfileDir,
  type ServiceProcess,
  type TestVhost,
} from '@drover/testing';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const MANAGEMENT = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

/** The instances that come and go, and how many start (and end) side by side on the 2-core machine. */
const INSTANCES = 20;
const BATCH = 5;
const LEASE_MS = 3_000;

/**
 * Issue 10, part 5: session agents that come and go leave no queue behind on the broker. Real
 * session-agent processes (without Chromium: a browser is not what owns queues) start, consume
 * their own queue, and end: half by SIGTERM (a clean stop deletes the queue), half by SIGKILL
 * (the broker deletes it by `x-expires`). No per-instance dead-letter queue exists at any time;
 * a dead letter lands in the shared `session-agents.dead`, naming the instance.
 */
const skip = skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set');

describeUnless(skip, 'session-agent queues on RabbitMQ: no orphans', () => {
  let vhost: TestVhost;
  let env: Record<string, string>;
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-orphans-'));
  let profileDir: RunProfileDir | undefined;
  const running = new Set<ServiceProcess>();

  /** Names of the vhost's queues, as the broker lists them now. */
  async function queueNames(): Promise<string[]> {
    const response = await fetch(`${MANAGEMENT}/api/queues/${encodeURIComponent(vhost.name)}?columns=name`, {
      headers: { authorization: AUTH },
    });
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { name: string }[]).map((queue) => queue.name);
  }
  const ownQueues = async () => (await queueNames()).filter((name) => name.startsWith('session-agent.'));

  async function startAgent(instanceId: string): Promise<ServiceProcess> {
    const agent = await startService('session-agent', { ...env, SESSION_AGENT_ID: instanceId });
    running.add(agent);
    return agent;
  }

  beforeAll(async () => {
    vhost = await createTestVhost(RABBITMQ_URL!);
    const profile = { name: 'orphans', sessionAgent: { maxConcurrentAgents: 4, heartbeatMs: 500, leaseMs: LEASE_MS } };
    profileDir = writeRunProfile(profile);
    env = {
      RABBITMQ_URL: vhost.url,
      DROVER_DATA_DIR: dataDir,
      ...profileDir.env,
      // No browser: the queues are what this test is about, and 20 Chromiums would not fit 2 cores.
      CHROME_PATH: join(dataDir, 'no-chromium'),
    };
  });

  afterAll(async () => {
    for (const service of running) await service.stop('SIGKILL');
    await vhost?.delete();
    rmSync(dataDir, { recursive: true, force: true });
    profileDir?.remove();
  });

  it('leaves no queue of a gone instance, stopped or killed, and keeps the live one', async () => {
    const survivor = await startAgent('orphans-live');
    const killedAt = new Map<string, number>();
    for (let first = 0; first < INSTANCES; first += BATCH) {
      const ids = Array.from({ length: BATCH }, (_, i) => `orphans-${first + i}`);
      const agents = await Promise.all(ids.map((id) => startAgent(id)));
      await eventually(`queues of ${ids.join(', ')}`, async () => {
        const names = await ownQueues();
        return ids.every((id) => names.includes(`session-agent.${id}`)) ? true : undefined;
      });
      // Every other instance is killed: no shutdown code runs, its queue is left to the broker.
      await Promise.all(
        agents.map(async (agent, i) => {
          const signal = (first + i) % 2 === 0 ? 'SIGKILL' : 'SIGTERM';
          const code = await agent.stop(signal);
          running.delete(agent);
          if (signal === 'SIGKILL') killedAt.set(ids[i]!, Date.now());
          else assert.equal(code, 0, `${ids[i]} exit code\n${agent.output().slice(-2000)}`);
        }),
      );
    }
    expect(killedAt.size).toBe(INSTANCES / 2);

    // A stopped instance removed its queue itself; a killed one's outlives it until x-expires
    // (two leases) has passed without a consumer.
    const afterLastKill = await ownQueues();
    const lastKilled = [...killedAt.keys()].filter((id) => Date.now() - killedAt.get(id)! < LEASE_MS);
    for (const id of lastKilled) expect(afterLastKill).toContain(`session-agent.${id}`);

    const started = Date.now();
    const left = await eventually(
      'only the live instance to have a queue',
      async () => {
        const names = await ownQueues();
        return names.length === 1 ? names : undefined;
      },
      60_000,
    );
    expect(left).toEqual(['session-agent.orphans-live']);
    // No per-instance dead-letter queue, ever; the shared one is there.
    const names = await queueNames();
    expect(names.filter((name) => name.endsWith('.dead') && name.startsWith('session-agent.'))).toEqual([]);
    expect(names).toContain('session-agents.dead');
    console.info(`killed instances' queues gone ${Date.now() - started} ms after the last round ended`);

    // A message the live instance cannot use is dead-lettered to the shared queue, naming it.
    const connection = await amqp.connect(vhost.url);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish('drover.dispatch', 'orphans-live', Buffer.from(JSON.stringify({ type: 'nonsense' })), {
        messageId: 'orphans-poison-1',
        persistent: true,
        contentType: 'application/json',
      });
      await channel.waitForConfirms();
      const letter = await eventually(
        'the dead letter',
        async () => (await channel.get('session-agents.dead')) || undefined,
      );
      expect(letter.properties.messageId).toBe('orphans-poison-1');
      expect(letter.properties.headers?.['x-drover-instance']).toBe('orphans-live');
      expect(letter.properties.headers?.['x-drover-death-queue']).toBe('session-agent.orphans-live');
    } finally {
      await connection.close();
    }

    assert.equal(await survivor.stop('SIGTERM'), 0, survivor.output().slice(-2000));
    running.delete(survivor);
    await eventually('no session-agent queue at all', async () =>
      (await ownQueues()).length === 0 ? true : undefined,
    );
  });
});
