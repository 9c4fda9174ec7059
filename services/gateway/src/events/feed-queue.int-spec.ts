import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Exchanges, type FeedEntry } from '@drover/contracts';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { RabbitMqBus } from '@drover/messaging/rabbitmq';
import {
  createTestVhost,
  eventually,
  reportMissing,
  SseClient,
  startService,
  type ServiceProcess,
  type TestVhost,
} from '@drover/testing';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const MANAGEMENT = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

/** The gateways' live feed queues of the vhost, as the management API lists them. */
async function feedQueues(vhost: string): Promise<{ name: string; consumers: number }[]> {
  const response = await fetch(`${MANAGEMENT}/api/queues/${encodeURIComponent(vhost)}`, {
    headers: { authorization: AUTH },
  });
  const queues = (await response.json()) as { name: string; consumers?: number }[];
  return queues
    .filter((queue) => queue.name.startsWith('gateway.feed.'))
    .map((queue) => ({ name: queue.name, consumers: queue.consumers ?? 0 }));
}

if (!RABBITMQ_URL) {
  reportMissing('RABBITMQ_URL is not set: the gateway feed queue not checked');
} else {
  /**
   * A gateway process on RabbitMQ: its live stream is fed by a queue of its own, bound to
   * `drover.events`, which is gone once the gateway is (killed, or stopped cleanly).
   */
  describe('gateway live feed queue on RabbitMQ', () => {
    let vhost: TestVhost;
    let bus: RabbitMqBus;
    const started: ServiceProcess[] = [];
    const gateway = async () => {
      const process = await startService('gateway', { RABBITMQ_URL: vhost.url, SSE_KEEPALIVE_MS: '1000' });
      started.push(process);
      return process;
    };

    beforeAll(async () => {
      vhost = await createTestVhost(RABBITMQ_URL, 'drover-feed');
      bus = await RabbitMqBus.connect(vhost.url, DROVER_TOPOLOGY);
    });
    afterAll(async () => {
      for (const process of started) await process.stop('SIGKILL');
      await bus.close();
      await vhost.delete();
    });

    const entry = (id: string): FeedEntry => ({
      id,
      kind: 'event',
      type: 'agent.started',
      agentId: 'a-1',
      occurredAt: new Date().toISOString(),
      status: 'running',
      version: 2,
      data: { instanceId: 'sa-1', attempt: 1 },
    });

    it('streams what reaches its queue, and the queue disappears when the gateway is killed', async () => {
      const first = await gateway();
      const stream = await SseClient.open(`${first.url}/api/events`);
      expect(stream.status).toBe(200);
      const [queue] = await eventually('the feed queue consumed', async () => {
        const queues = await feedQueues(vhost.name);
        return queues.length === 1 && queues[0]!.consumers === 1 ? queues : undefined;
      });
      await bus.publish(Exchanges.events, 'feed.event', entry('7'), { messageId: 'feed-7' });
      await eventually('the entry streamed', async () => (stream.messages.length === 1 ? true : undefined));
      expect(stream.messages[0]).toMatchObject({ id: '7', event: 'agent.started' });
      await first.stop('SIGKILL');
      await stream.close();
      await eventually(`${queue!.name} removed`, async () =>
        (await feedQueues(vhost.name)).length === 0 ? true : undefined,
      );
    });

    it('deletes its queue on a clean stop', async () => {
      const second = await gateway();
      const stream = await SseClient.open(`${second.url}/api/events`);
      expect(stream.status).toBe(200);
      await eventually('the feed queue', async () => ((await feedQueues(vhost.name)).length === 1 ? true : undefined));
      expect(await second.stop('SIGTERM')).toBe(0);
      await stream.close();
      expect(await feedQueues(vhost.name)).toEqual([]);
    });
  });
}
