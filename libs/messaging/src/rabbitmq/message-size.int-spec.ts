import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { Exchanges } from '@drover/contracts';
import { createTestVhost, reportMissing } from '@drover/testing';
import { MessageTooLargeError } from '../bus.port';
import { MAX_MESSAGE_BYTES } from '../delivery-policy';
import { DROVER_TOPOLOGY } from '../topology';
import { RabbitMqBus } from './rabbitmq-bus';

const url = process.env.RABBITMQ_URL;

if (!url) {
  reportMissing('RABBITMQ_URL is not set: RabbitMQ message size not checked');
} else {
  describe('RabbitMqBus message size', () => {
    it('refuses an oversized message before the broker sees it, and keeps publishing on the same channel', async () => {
      const vhost = await createTestVhost(url, 'drover-size');
      const bus = await RabbitMqBus.connect(vhost.url, DROVER_TOPOLOGY, { retryDelaysMs: [10] });
      try {
        const queue = `size.${randomUUID().slice(0, 8)}`;
        await bus.declareQueue({ name: queue, bindings: [{ exchange: Exchanges.dispatch, pattern: queue }] });
        const received: string[] = [];
        await bus.subscribe(queue, async (delivery) => void received.push(delivery.messageId));
        const huge = { text: 'x'.repeat(MAX_MESSAGE_BYTES) };
        await expect(bus.publish(Exchanges.dispatch, queue, huge, { messageId: 'huge' })).rejects.toThrow(
          MessageTooLargeError,
        );
        await bus.publish(Exchanges.dispatch, queue, { ok: true }, { messageId: 'after' });
        const deadline = Date.now() + 10_000;
        while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(received).toEqual(['after']);
      } finally {
        await bus.close();
        await vhost.delete();
      }
    });
  });
}
