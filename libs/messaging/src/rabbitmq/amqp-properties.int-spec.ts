import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import amqp from 'amqplib';
import { Exchanges, RoutingKeys } from '@drover/contracts';
import { createTestVhost, reportMissing } from '@drover/testing';
import { DROVER_TOPOLOGY, Queues } from '../topology';
import { RabbitMqBus } from './rabbitmq-bus';

const url = process.env.RABBITMQ_URL;

if (!url) {
  reportMissing('RABBITMQ_URL is not set: AMQP properties not checked');
} else {
  describe('RabbitMqBus AMQP properties', () => {
    it('stamps every message with message_id, correlation_id, type, timestamp and app_id, as the management UI shows them', async () => {
      const vhost = await createTestVhost(url, 'drover-props');
      const bus = await RabbitMqBus.connect(vhost.url, DROVER_TOPOLOGY, { appId: 'engine' });
      const connection = await amqp.connect(vhost.url);
      const channel = await connection.createChannel();
      try {
        const queue = `props.${randomUUID().slice(0, 8)}`;
        await bus.declareQueue({ name: queue, bindings: [{ exchange: Exchanges.events, pattern: 'agent.#' }] });
        const before = Math.floor(Date.now() / 1000);
        // An event carries its correlation in the body; the bus copies it (and its type) to the properties.
        const event = { messageId: 'a-1:3:0', type: 'agent.started', agentId: 'a-1', correlationId: 'req-42' };
        await bus.publish(Exchanges.events, 'agent.started', event, { messageId: 'a-1:3:0' });
        // What the caller says wins over the body.
        await bus.publish(Exchanges.events, 'agent.stopped', { x: 1 }, { correlationId: 'req-43', type: 'custom' });
        const first = await channel.get(queue, { noAck: true });
        const second = await channel.get(queue, { noAck: true });
        if (!first || !second) throw new Error('messages not delivered');
        expect(first.properties).toMatchObject({
          messageId: 'a-1:3:0',
          correlationId: 'req-42',
          type: 'agent.started',
          appId: 'engine',
        });
        expect(first.properties.timestamp).toBeGreaterThanOrEqual(before);
        expect(first.properties.timestamp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
        expect(second.properties).toMatchObject({ correlationId: 'req-43', type: 'custom', appId: 'engine' });

        // A request (a gateway command) keeps its own correlation; its reply still finds it.
        await bus.subscribe(Queues.engineCommands, async (delivery) => {
          await delivery.reply?.({ ok: true, seen: delivery.messageId });
        });
        const copy = `copy.${randomUUID().slice(0, 8)}`;
        await bus.declareQueue({ name: copy, bindings: [{ exchange: Exchanges.commands, pattern: 'agent.*' }] });
        const command = { messageId: 'gw-1', type: 'agent.stop', agentId: 'a-1', payload: {}, correlationId: 'req-44' };
        const reply = await bus.request(Exchanges.commands, 'agent.stop', command, {
          messageId: 'gw-1',
          timeoutMs: 5_000,
        });
        expect(reply).toEqual({ ok: true, seen: 'gw-1' });
        const sent = await channel.get(copy, { noAck: true });
        if (!sent) throw new Error('command not delivered');
        expect(sent.properties).toMatchObject({
          messageId: 'gw-1',
          correlationId: 'req-44',
          type: 'agent.stop',
          appId: 'engine',
        });
        // A read query is typed by its kind.
        const query = `query.${randomUUID().slice(0, 8)}`;
        await bus.declareQueue({
          name: query,
          bindings: [{ exchange: Exchanges.persistence, pattern: RoutingKeys.readQuery }],
        });
        await bus.publish(Exchanges.persistence, RoutingKeys.readQuery, { query: 'agent.get', agentId: 'a-1' });
        const asked = await channel.get(query, { noAck: true });
        if (!asked) throw new Error('query not delivered');
        expect(asked.properties.type).toBe('agent.get');
      } finally {
        await channel.close();
        await connection.close();
        await bus.close();
        await vhost.delete();
      }
    });
  });
}
