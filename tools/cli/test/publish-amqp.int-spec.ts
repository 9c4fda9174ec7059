import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import amqp from 'amqplib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { RabbitMqBus } from '@drover/messaging/rabbitmq';
import { createTestVhost, reportMissing, type TestVhost } from '@drover/testing';
import { jsonLines, runCli } from './cli-process';

const url = process.env.RABBITMQ_URL;

const start = (messageId: string, agentId: string) => ({
  messageId,
  type: 'agent.start',
  agentId,
  payload: { behavior: 'http-monitor', config: { url: 'http://127.0.0.1:1/live', intervalMs: 1000 } },
  correlationId: `corr-${messageId}`,
});

/**
 * `drover publish --amqp` as a process against RabbitMQ: commands land on the engine's queue
 * (the real topology, declared in a scratch vhost) as Drover's consumers expect them, confirmed;
 * a broker that refuses or drops them is an exit code, never a silent success.
 */
if (!url) {
  reportMissing('RABBITMQ_URL is not set: drover publish --amqp not checked');
} else {
  describe('drover publish --amqp (RabbitMQ)', () => {
    let vhost: TestVhost;
    let bare: TestVhost;
    let dir: string;

    beforeAll(async () => {
      vhost = await createTestVhost(url, 'drover-cli');
      bare = await createTestVhost(url, 'drover-cli-bare');
      // Declares drover.commands and engine.commands (bound to agent.*) as bootstrap does.
      const bus = await RabbitMqBus.connect(vhost.url, DROVER_TOPOLOGY);
      await bus.close();
      dir = mkdtempSync(join(tmpdir(), 'drover-cli-amqp-'));
    });
    afterAll(async () => {
      await vhost.delete();
      await bare.delete();
      rmSync(dir, { recursive: true, force: true });
    });

    /** Takes every message waiting on `queue`. */
    async function drain(queue: string): Promise<amqp.GetMessage[]> {
      const connection = await amqp.connect(vhost.url);
      try {
        const channel = await connection.createChannel();
        const messages: amqp.GetMessage[] = [];
        for (
          let message = await channel.get(queue, { noAck: true });
          message;
          message = await channel.get(queue, { noAck: true })
        ) {
          messages.push(message);
        }
        return messages;
      } finally {
        await connection.close();
      }
    }

    it('publishes a file of commands to drover.commands, persistent, with the sender, once confirmed', async () => {
      const file = join(dir, 'commands.json');
      writeFileSync(file, JSON.stringify([start('amqp-1', 'a-1'), start('amqp-2', 'a-2')]));
      const run = await runCli(['publish', file, '--amqp', vhost.url, '--json']);
      expect(run.code).toBe(0);
      expect(jsonLines(run.stdout)).toEqual([
        {
          messageId: 'amqp-1',
          type: 'agent.start',
          agentId: 'a-1',
          exchange: 'drover.commands',
          routingKey: 'agent.start',
          confirmed: true,
        },
        {
          messageId: 'amqp-2',
          type: 'agent.start',
          agentId: 'a-2',
          exchange: 'drover.commands',
          routingKey: 'agent.start',
          confirmed: true,
        },
      ]);
      const messages = await drain('engine.commands');
      expect(messages.map((m) => JSON.parse(m.content.toString()) as unknown)).toEqual([
        start('amqp-1', 'a-1'),
        start('amqp-2', 'a-2'),
      ]);
      const [first] = messages;
      expect(first!.fields.exchange).toBe('drover.commands');
      expect(first!.fields.routingKey).toBe('agent.start');
      expect(first!.properties).toMatchObject({
        messageId: 'amqp-1',
        userId: 'guest',
        deliveryMode: 2,
        contentType: 'application/json',
        correlationId: 'corr-amqp-1',
      });
    });

    it('publishes JSON Lines from stdin, with the broker URL from RABBITMQ_URL', async () => {
      const stop = { messageId: 'amqp-3', type: 'agent.stop', agentId: 'a-1', payload: { reason: 'cli' } };
      const run = await runCli(['publish', '-', '--amqp'], { RABBITMQ_URL: vhost.url }, `${JSON.stringify(stop)}\n`);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('amqp-3 agent.stop a-1: confirmed by the broker');
      const messages = await drain('engine.commands');
      expect(messages.map((m) => m.fields.routingKey)).toEqual(['agent.stop']);
    });

    it('exits 2 naming the field of an invalid command, and publishes none of the file', async () => {
      const file = join(dir, 'invalid.jsonl');
      const bad = { ...start('amqp-5', 'a-5'), payload: { config: {} } };
      writeFileSync(file, `${JSON.stringify(start('amqp-4', 'a-4'))}\n${JSON.stringify(bad)}\n`);
      const run = await runCli(['publish', file, '--amqp', vhost.url]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('payload.behavior');
      expect(await drain('engine.commands')).toEqual([]);
    });

    it('exits 1 when the broker refuses or no queue would read the command, 3 when no broker answers', async () => {
      const file = join(dir, 'one.json');
      writeFileSync(file, JSON.stringify(start('amqp-6', 'a-6')));

      // A vhost without Drover's topology: drover.commands does not exist there.
      const missing = await runCli(['publish', file, '--amqp', bare.url]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/broker_refused.*drover\.commands/);

      // The exchange exists but nothing is bound: the broker returns the command.
      const connection = await amqp.connect(bare.url);
      await (await connection.createChannel()).assertExchange('drover.commands', 'topic', { durable: true });
      await connection.close();
      const unroutable = await runCli(['publish', file, '--amqp', bare.url, '--json']);
      expect(unroutable.code).toBe(1);
      expect(jsonLines(unroutable.stdout)).toEqual([
        { error: { code: 'unroutable', message: expect.stringContaining('amqp-6') } },
      ]);

      const wrongPassword = new URL(vhost.url);
      wrongPassword.password = 'not-the-password';
      const refused = await runCli(['publish', file, '--amqp', wrongPassword.toString()]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('ACCESS');

      const nowhere = await runCli(['publish', file, '--amqp', 'amqp://guest:guest@127.0.0.1:1']);
      expect(nowhere.code).toBe(3);
      expect(nowhere.stderr).toContain('cannot reach the broker');
    });
  });
}
