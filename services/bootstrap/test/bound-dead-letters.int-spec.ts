import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DROVER_TOPOLOGY, Queues } from '@drover/messaging';
import { RabbitMqBus } from '@drover/messaging/rabbitmq';
import { EnvSchema, silentLogger } from '@drover/runtime';
import { createTestVhost, reportMissing, type TestVhost } from '@drover/testing';
import { boundDeadLetters } from '../src/bound-dead-letters';

const url = process.env.RABBITMQ_URL;

if (!url) {
  reportMissing('RABBITMQ_URL is not set: bootstrap dead-letter bounds not tested');
} else {
  describe('bootstrap bounds the dead-letter queues', () => {
    let vhost: TestVhost;
    const management = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';

    beforeAll(async () => {
      vhost = await createTestVhost(url, 'drover-bootstrap');
    });
    afterAll(async () => {
      await vhost?.delete();
    });

    const effective = async (queue: string): Promise<Record<string, unknown> | null> => {
      const auth = Buffer.from('guest:guest').toString('base64');
      const path = `${management}/api/queues/${encodeURIComponent(vhost.name)}/${encodeURIComponent(queue)}`;
      const response = await fetch(path, { headers: { authorization: `Basic ${auth}` } });
      const body = (await response.json()) as { effective_policy_definition?: Record<string, unknown> };
      return body.effective_policy_definition && Object.keys(body.effective_policy_definition).length
        ? body.effective_policy_definition
        : null;
    };

    it("applies the profile's bounds to every dead-letter queue of the vhost RABBITMQ_URL names", async () => {
      const bus = await RabbitMqBus.connect(vhost.url, DROVER_TOPOLOGY);
      try {
        const env = EnvSchema.parse({ RABBITMQ_URL: vhost.url, RABBITMQ_MANAGEMENT_URL: management });
        await boundDeadLetters(env, { maxAgeMs: 86_400_000, maxLength: 1_000 }, silentLogger());
        const bounds = { 'max-length': 1_000, overflow: 'drop-head', 'message-ttl': 86_400_000 };
        for (const queue of [`${Queues.persistenceReports}.dead`, Queues.sessionAgentsDead]) {
          for (let tries = 0; (await effective(queue)) === null && tries < 100; tries += 1) {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          expect(await effective(queue)).toEqual(bounds);
        }
        expect(await effective(Queues.persistenceReports)).toBe(null);
      } finally {
        await bus.close();
      }
    });

    it('fails naming the management URL and what to do when the API does not answer', async () => {
      const env = EnvSchema.parse({ RABBITMQ_URL: vhost.url, RABBITMQ_MANAGEMENT_URL: 'http://127.0.0.1:1' });
      await expect(boundDeadLetters(env, { maxAgeMs: 1_000, maxLength: 1 }, silentLogger())).rejects.toThrow(
        /http:\/\/127\.0\.0\.1:1 .*RABBITMQ_MANAGEMENT_URL/,
      );
    });
  });
}
