import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { connect as amqpConnect, type Channel, type Options } from 'amqplib';
import { Exchanges, type BusRole } from '@drover/contracts';
import {
  DEATH_REASON_HEADER,
  Queues,
  retryLater,
  SenderGuardBus,
  sessionAgentQueue,
  type Delivery,
} from '@drover/messaging';
import { createRoleUsers, createTestVhost, reportMissing, type RoleUsers, type TestVhost } from '@drover/testing';
import { repoRoot } from '../compose-checks';

const url = process.env.RABBITMQ_URL;

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The users and permissions of deploy/rabbitmq/definitions.json on the real broker (a test vhost, a user per
 * role with the file's regexes): RabbitMQ itself refuses what a service's user may not do and a forged
 * `user_id`; the services start with their own users; consumers dead-letter messages from the wrong sender.
 */
if (!url) {
  reportMissing('RABBITMQ_URL is not set: broker permission checks not run');
} else {
  describe('deploy/rabbitmq/definitions.json permissions on RabbitMQ', () => {
    let vhost: TestVhost;
    let roles: RoleUsers;

    const connectAs = (role: BusRole, declareTopology = false) =>
      roles.connect(role, { declareTopology, connectionName: `permissions-${role}` });

    /** Publishes one message as `role` on a raw confirm channel: `confirmed`, or the broker's error. */
    const publishAs = async (
      role: BusRole,
      exchange: string,
      routingKey: string,
      body: unknown,
      properties: Options.Publish = {},
    ): Promise<string> => {
      const connection = await amqpConnect(roles.url(role));
      connection.on('error', () => undefined);
      try {
        const channel = await connection.createConfirmChannel();
        return await new Promise<string>((resolve) => {
          channel.on('error', (error: Error) => resolve(error.message));
          channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), {
            contentType: 'application/json',
            ...properties,
          });
          channel.waitForConfirms().then(
            () => resolve('confirmed'),
            () => undefined,
          );
        });
      } finally {
        await connection.close().catch(() => undefined);
      }
    };

    /** Runs one channel operation as `role`: `ok`, or the broker's error. */
    const tryAs = async (role: BusRole, operation: (channel: Channel) => Promise<unknown>) => {
      const connection = await amqpConnect(roles.url(role));
      connection.on('error', () => undefined);
      try {
        const channel = await connection.createChannel();
        return await new Promise<string>((resolve) => {
          channel.on('error', (error: Error) => resolve(error.message));
          operation(channel).then(
            () => resolve('ok'),
            () => undefined,
          );
        });
      } finally {
        await connection.close().catch(() => undefined);
      }
    };

    beforeAll(async () => {
      vhost = await createTestVhost(url, 'drover-perms');
      roles = await createRoleUsers(repoRoot(), url, vhost.name);
      // Only bootstrap declares the shared topology (the broker's definitions import does the same in compose).
      await connectAs('bootstrap', true);
    });
    afterAll(async () => {
      await roles?.delete();
      await vhost?.delete();
    });

    describe('RabbitMQ refuses what a service user may not do', () => {
      it.each([
        ['session-agent', Exchanges.commands, 'agent.start'],
        ['session-agent', Exchanges.events, 'agent.started'],
        ['gateway', Exchanges.reports, 'session.started'],
        ['gateway', Exchanges.dispatch, 'pending'],
        ['scheduler', Exchanges.persistence, 'task'],
        ['engine', Exchanges.commands, 'agent.stop'],
        ['persistence-agent', Exchanges.commands, 'agent.stop'],
        ['operator', Exchanges.reports, 'session.failed'],
      ] as const)('refuses the %s publishing to %s', async (role, exchange, routingKey) => {
        const outcome = await publishAs(role, exchange, routingKey, {});
        expect(outcome).toMatch(new RegExp(`ACCESS_REFUSED.*exchange '${exchange.replace('.', '\\.')}'`));
      });

      it('lets the gateway, the scheduler and operators publish commands', async () => {
        for (const role of ['gateway', 'scheduler', 'operator'] as const) {
          expect(await publishAs(role, Exchanges.commands, 'agent.stop', {})).toBe('confirmed');
        }
      });

      it("refuses a session agent reading the engine's queues or deleting one", async () => {
        const consume = await tryAs('session-agent', (channel) =>
          channel.consume(Queues.engineCommands, () => undefined),
        );
        expect(consume).toMatch(/ACCESS_REFUSED.*queue 'engine\.commands'/);
        const read = await tryAs('session-agent', (channel) => channel.get(Queues.engineReports));
        expect(read).toMatch(/ACCESS_REFUSED.*queue 'engine\.reports'/);
        const remove = await tryAs('session-agent', (channel) => channel.deleteQueue(Queues.engineCommands));
        expect(remove).toMatch(/ACCESS_REFUSED.*queue 'engine\.commands'/);
      });

      it('refuses a service other than bootstrap declaring the shared topology', async () => {
        await expect(connectAs('engine', true)).rejects.toThrow(/ACCESS_REFUSED/);
      });

      it('refuses a forged user_id', async () => {
        const forged = await publishAs(
          'session-agent',
          Exchanges.reports,
          'session.started',
          {},
          {
            userId: roles.names.engine,
          },
        );
        expect(forged).toMatch(/PRECONDITION_FAILED.*user_id/);
        const own = await publishAs(
          'session-agent',
          Exchanges.reports,
          'session.heartbeat',
          {},
          {
            userId: roles.names['session-agent'],
          },
        );
        expect(own).toBe('confirmed');
      });
    });

    describe('services on their own users', () => {
      it('start: each checks the topology, consumes its queues, and a session agent declares its own', async () => {
        const engine = await connectAs('engine');
        await engine.subscribe(Queues.engineReports, async () => undefined);
        const persistence = await connectAs('persistence-agent');
        for (const queue of [Queues.persistenceEvents, Queues.persistenceReports, Queues.persistenceTasks]) {
          await persistence.subscribe(queue, async () => undefined);
        }
        const sessionAgent = await connectAs('session-agent');
        const own = sessionAgentQueue('sa-perm-1', 60_000);
        await sessionAgent.declareQueue(own);
        await sessionAgent.subscribe(own.name, async () => undefined);
        await sessionAgent.subscribe(Queues.pendingSessions, async () => undefined);
        await connectAs('gateway');
        await connectAs('scheduler');
        await sessionAgent.deleteQueue(own.name);
      });

      it('dead-letter a message from the wrong sender with the reason, and keep the sender across a retry', async () => {
        const engine = new SenderGuardBus(await connectAs('engine'), roles.users);
        const handled: Delivery[] = [];
        await engine.subscribe(Queues.engineCommands, async (delivery) => {
          handled.push(delivery);
          // The first delivery of each is retried: the copy is republished by the engine's own user.
          return delivery.attempt === 1 ? retryLater('once more') : undefined;
        });
        const dead: Delivery[] = [];
        const bootstrap = await connectAs('bootstrap');
        await bootstrap.subscribe(`${Queues.engineCommands}.dead`, async (delivery) => void dead.push(delivery));

        const gateway = await connectAs('gateway');
        await gateway.publish(Exchanges.commands, 'agent.stop', { from: 'gateway' }, { messageId: 'right-1' });
        // A scheduler-only command from the gateway, and a session agent addressing the queue through the default
        // exchange (its retries need it), which no exchange permission can stop: refused by the consumer.
        await gateway.publish(Exchanges.commands, 'agent.recover', { from: 'gateway' }, { messageId: 'wrong-1' });
        const viaDefault = await publishAs(
          'session-agent',
          '',
          Queues.engineCommands,
          {},
          {
            messageId: 'wrong-2',
            userId: roles.names['session-agent'],
          },
        );
        expect(viaDefault).toBe('confirmed');
        expect(await publishAs('operator', Exchanges.commands, 'agent.start', {}, { messageId: 'wrong-3' })).toBe(
          'confirmed',
        );

        const wrong = ['wrong-1', 'wrong-2', 'wrong-3'];
        const letters = await until('three dead letters', () => {
          const found = dead.filter((d) => wrong.includes(d.messageId));
          return found.length === wrong.length ? found : undefined;
        });
        const reasons = Object.fromEntries(letters.map((d) => [d.messageId, String(d.headers[DEATH_REASON_HEADER])]));
        expect(reasons['wrong-1']).toBe(
          `sender ${roles.names.gateway} (gateway) may not send agent.recover to engine.commands: only scheduler may`,
        );
        expect(reasons['wrong-2']).toBe(
          `sender ${roles.names['session-agent']} (session-agent) may not send engine.commands to engine.commands: nobody may`,
        );
        expect(reasons['wrong-3']).toBe(
          'a message without user_id may not send agent.start to engine.commands: only gateway, scheduler, bootstrap, operator may',
        );
        const seen = await until('the retried command', () => {
          const copies = handled.filter((d) => d.messageId === 'right-1');
          return copies.length === 2 ? copies : undefined;
        });
        for (const copy of seen) {
          expect({ sender: copy.sender, role: copy.senderRole }).toEqual({
            sender: roles.names.gateway,
            role: 'gateway',
          });
        }
        assert.ok(!handled.some((d) => d.messageId.startsWith('wrong-')));
      });
    });
  });
}
