import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect as amqpConnect } from 'amqplib';
import { Exchanges } from '@drover/contracts';
import { createTestVhost, reportMissing, type TestVhost } from '@drover/testing';
import { until } from '../testing/bus-contract';
import { DROVER_TOPOLOGY, Queues } from '../topology';
import { RabbitMqBus } from './rabbitmq-bus';
import { applyPolicy, DEAD_LETTER_POLICY, deadLetterPolicy, managementEndpoint } from './rabbitmq-policies';

const url = process.env.RABBITMQ_URL;

/**
 * The dead-letter bounds on a deployment that already has its `*.dead` queues: the policy bounds
 * them in place, and every service's redeclaration of its queues keeps working (queue arguments
 * would have made the broker refuse it with PRECONDITION_FAILED).
 */
if (!url) {
  reportMissing('RABBITMQ_URL is not set: dead-letter policy not tested');
} else {
  describe('dead-letter policy on RabbitMQ', () => {
    let vhost: TestVhost;
    const dead = `${Queues.engineCommands}.dead`;

    beforeAll(async () => {
      vhost = await createTestVhost(url, 'drover-policy');
    });
    afterAll(async () => {
      await vhost?.delete();
    });

    const endpoint = () => managementEndpoint(vhost.url, process.env.RABBITMQ_MANAGEMENT_URL);
    const policyOf = async (queue: string): Promise<unknown> => {
      const { url: api, username, password } = endpoint();
      const auth = Buffer.from(`${username}:${password}`).toString('base64');
      const path = `${api}/api/queues/${encodeURIComponent(vhost.name)}/${encodeURIComponent(queue)}`;
      const response = await fetch(path, { headers: { authorization: `Basic ${auth}` } });
      return ((await response.json()) as { policy?: unknown }).policy ?? null;
    };
    const depth = async (bus: RabbitMqBus, queue: string) => (await bus.queueStats(queue)).messages;

    it('bounds existing dead-letter queues in place, oldest dropped first, and services still redeclare them', async () => {
      // A deployment of the previous version: the topology, with dead letters waiting.
      const before = await RabbitMqBus.connect(vhost.url, DROVER_TOPOLOGY);
      for (let n = 1; n <= 5; n += 1) {
        await before.publish(Exchanges.dead, Queues.engineCommands, { n }, { messageId: `d-${n}` });
      }
      await until(async () => (await depth(before, dead)) === 5, 'five dead letters', 10_000);
      await before.close();

      await applyPolicy(
        endpoint(),
        DEAD_LETTER_POLICY,
        deadLetterPolicy(DROVER_TOPOLOGY, { maxAgeMs: null, maxLength: 3 }),
      );

      // Every service redeclares the whole topology when it connects: the broker still accepts it.
      const after = await RabbitMqBus.connect(vhost.url, DROVER_TOPOLOGY);
      try {
        await until(async () => (await depth(after, dead)) === 3, 'the bound applied to the existing queue', 10_000);
        await after.publish(Exchanges.dead, Queues.engineCommands, { n: 6 }, { messageId: 'd-6' });
        await until(async () => (await policyOf(dead)) === DEAD_LETTER_POLICY, 'the policy on the queue', 10_000);
        expect(await depth(after, dead)).toBe(3);
        expect(await policyOf(Queues.engineCommands)).toBe(null);
        const kept: string[] = [];
        await after.subscribe(dead, async (delivery) => void kept.push(delivery.messageId));
        await until(() => kept.length === 3, 'the kept dead letters', 10_000);
        expect(kept).toEqual(['d-4', 'd-5', 'd-6']);
      } finally {
        await after.close();
      }
    });

    // Why a policy: the same bound as a queue argument is refused on a queue that exists.
    it('would have been refused as a queue argument on the existing queue (PRECONDITION_FAILED)', async () => {
      const connection = await amqpConnect(vhost.url);
      try {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        const redeclare = channel.assertQueue(dead, {
          durable: true,
          arguments: { 'x-queue-type': 'quorum', 'x-max-length': 3 },
        });
        await expect(redeclare).rejects.toThrow(/PRECONDITION_FAILED/);
      } finally {
        await connection.close();
      }
    });

    it('expires dead letters after maxAgeMs, and lifts the bounds when both are off', async () => {
      const bus = await RabbitMqBus.connect(vhost.url, DROVER_TOPOLOGY);
      try {
        await applyPolicy(
          endpoint(),
          DEAD_LETTER_POLICY,
          deadLetterPolicy(DROVER_TOPOLOGY, { maxAgeMs: 1_000, maxLength: null }),
        );
        await until(
          async () => (await policyOf(Queues.sessionAgentsDead)) === DEAD_LETTER_POLICY,
          'the policy',
          10_000,
        );
        await bus.publish(Exchanges.dead, 'session-agent.sa-1', { n: 1 }, { messageId: 'expiring' });
        await until(
          async () => (await depth(bus, Queues.sessionAgentsDead)) === 0,
          'the dead letter to expire',
          30_000,
          100,
        );

        await applyPolicy(
          endpoint(),
          DEAD_LETTER_POLICY,
          deadLetterPolicy(DROVER_TOPOLOGY, { maxAgeMs: null, maxLength: null }),
        );
        await until(async () => (await policyOf(Queues.sessionAgentsDead)) === null, 'the policy removed', 10_000);
        // Removing it again is not an error.
        await applyPolicy(endpoint(), DEAD_LETTER_POLICY, undefined);
      } finally {
        await bus.close();
      }
    });
  });
}
