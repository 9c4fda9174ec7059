import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import type { FeedEntry } from '@drover/contracts';
import { silentLogger } from '@drover/runtime';
import {
  createTestVhost,
  describeUnless,
  eventually,
  http,
  managementQueue,
  skipUnlessCi,
  SseClient,
  type TestVhost,
} from '@drover/testing';
import { startStandalone, type RunningSystem } from '../src/standalone-system';
import { standaloneConfig, writeFastProfile } from './standalone-process';

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const skip = skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set');

/**
 * `npm start` with `RABBITMQ_URL` set (README, "RabbitMQ in five minutes"): the whole system in
 * one process on the broker. A command published straight to `drover.commands`, as the
 * management UI's form does, starts an agent whose events a live stream shows; a body that is no
 * command is dead-lettered and filed with its reason; the queues have their consumers on the broker.
 */
describeUnless(skip, 'the standalone system on RabbitMQ', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-standalone-rmq-'));
  const profilesDir = writeFastProfile();
  let vhost: TestVhost;
  let system: RunningSystem;
  let api: string;

  const publish = async (body: unknown, messageId?: string) => {
    const connection = await amqp.connect(vhost.url);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish('drover.commands', 'agent.start', Buffer.from(JSON.stringify(body)), {
        contentType: 'application/json',
        persistent: true,
        ...(messageId ? { messageId } : {}),
      });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
  };

  beforeAll(async () => {
    vhost = await createTestVhost(RABBITMQ_URL!, 'drover-standalone');
    const config = standaloneConfig(dataDir, profilesDir, {
      RABBITMQ_URL: vhost.url,
    });
    system = await startStandalone(config, silentLogger());
    api = `${system.url}/api`;
  });
  afterAll(async () => {
    await system?.stop();
    await vhost?.delete();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });

  it('runs a command published to the broker, streams its events, and files a dead letter', async () => {
    // Its consumers are on the broker, not in the process.
    // (The management API's figures lag by a few seconds.)
    await eventually('a consumer on engine.commands', async () =>
      (await managementQueue(vhost.name, 'engine.commands')).consumers > 0 ? true : undefined,
    );

    const stream = await SseClient.open(`${api}/events?agentId=ui-agent`);
    try {
      await publish(
        {
          messageId: 'ui-1',
          type: 'agent.start',
          agentId: 'ui-agent',
          payload: { behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 200 } },
        },
        'ui-1',
      );
      await eventually('ui-agent started on the stream', async () =>
        stream.json<FeedEntry>().some((entry) => entry.type === 'agent.started') ? true : undefined,
      );
    } finally {
      await stream.close();
    }
    const command = await http(`${api}/commands/ui-1`);
    expect(command.body).toMatchObject({ state: 'accepted', type: 'agent.start', agentId: 'ui-agent' });

    await publish({ type: 'agent.start' });
    const letters = await eventually('the dead letter filed', async () => {
      const page = await http(`${api}/dead-letters?queue=engine.commands`);
      const items = page.body.items as { reason: string; exchange: string }[];
      return items.length > 0 ? items : undefined;
    });
    expect(letters[0]).toMatchObject({ exchange: 'drover.commands' });
    expect(letters[0]!.reason).toMatch(/messageId: Required/);
  });
});
