import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';
import { reportMissing } from '@drover/testing';
import assert from 'node:assert/strict';
import { connect as amqpConnect, type GetMessage } from 'amqplib';
import pino from 'pino';
import type { Logger } from '@drover/runtime';
import { Exchanges } from '@drover/contracts';
import { type Delivery, UnroutableError } from '../bus.port';
import { DEATH_QUEUE_HEADER, DEATH_REASON_HEADER, deadLetter } from '../outcomes';
import { busContract, until } from '../testing/bus-contract';
import { DROVER_TOPOLOGY, sessionAgentQueue } from '../topology';
import { RabbitMqBus } from './rabbitmq-bus';
import { qualify, topologyDeclarations } from './rabbitmq-config';

const url = process.env.RABBITMQ_URL;

if (!url) {
  reportMissing('RABBITMQ_URL is not set: RabbitMQ contract not run');
} else {
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const open = (options: { connectionName?: string; logger?: Logger } = {}): Promise<RabbitMqBus> =>
    RabbitMqBus.connect(url, DROVER_TOPOLOGY, { prefix, retryDelaysMs: [10], ...options });
  /** Queues the tests below declare, deleted after the suite. */
  const extraQueues: string[] = [];

  afterAll(() => cleanUp(url, prefix, extraQueues));

  busContract('rabbitmq', () => open());

  describe('RabbitMqBus', () => {
    it('keeps every confirmed message across a dropped connection', async () => {
      const connectionName = `${prefix}-drop-${randomUUID().slice(0, 8)}`;
      const logged: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void logged.push(line) });
      const bus = await open({ connectionName, logger });
      const queue = `drop.${randomUUID().slice(0, 8)}`;
      extraQueues.push(queue);
      try {
        await bus.declareQueue({ name: queue, bindings: [{ exchange: Exchanges.dispatch, pattern: queue }] });
        const received = new Set<string>();
        await bus.subscribe(queue, async (delivery) => void received.add(delivery.messageId));
        const confirmed: string[] = [];
        const publish = async (messageId: string): Promise<void> => {
          await bus.publish(Exchanges.dispatch, queue, { messageId }, { messageId });
          confirmed.push(messageId);
        };
        for (let n = 0; n < 20; n += 1) await publish(`before-${n}`);
        await until(() => received.size >= 5, 'the first deliveries', 10_000);
        // Publishes in flight while the broker closes the connection, then publishes while it is down.
        const during: Promise<void>[] = [];
        for (let n = 0; n < 20; n += 1) {
          during.push(publish(`during-${n}`));
          if (n === 5) await closeConnection(url, connectionName);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        await Promise.all(during);
        for (let n = 0; n < 20; n += 1) await publish(`after-${n}`);
        await until(() => confirmed.every((id) => received.has(id)), 'every confirmed message', 30_000);
        expect(confirmed.length).toBe(60);
        assert.ok(
          logged.some((line) => line.includes('rabbitmq disconnected')),
          'the bus saw its connection drop',
        );
        await bus.ping();
      } finally {
        await bus.deleteQueue(queue).catch(() => undefined);
        await bus.close();
      }
    });

    it('declares an instance queue again when it reconnects, had it expired meanwhile', async () => {
      const connectionName = `${prefix}-redeclare-${randomUUID().slice(0, 8)}`;
      const bus = await open({ connectionName });
      const instanceId = `redeclare-${randomUUID().slice(0, 8)}`;
      const spec = sessionAgentQueue(instanceId, 60_000);
      extraQueues.push(spec.name);
      try {
        await bus.declareQueue(spec);
        const received: string[] = [];
        await bus.subscribe(spec.name, async (delivery) => void received.push(delivery.messageId));
        // The broker removes the queue, as x-expires would during a long outage; then the connection drops.
        const outsider = await amqpConnect(url);
        try {
          await (await outsider.createChannel()).deleteQueue(qualify(prefix, spec.name));
        } finally {
          await outsider.close();
        }
        await closeConnection(url, connectionName);
        let sent = 0;
        await until(
          async () => {
            await bus.publish(Exchanges.dispatch, instanceId, {}, { messageId: `after-${(sent += 1)}` });
            return received.length > 0;
          },
          'a delivery on the declared-again queue',
          20_000,
          200,
        );
      } finally {
        await bus.deleteQueue(spec.name).catch(() => undefined);
        await bus.close();
      }
    });

    it('dead-letters a poison message with its reason while valid ones keep flowing', async () => {
      const bus = await open();
      const queue = `poison.${randomUUID().slice(0, 8)}`;
      extraQueues.push(queue);
      try {
        await bus.declareQueue({ name: queue, bindings: [{ exchange: Exchanges.dispatch, pattern: queue }] });
        const valid: number[] = [];
        await bus.subscribe(queue, async (delivery) => {
          const body = delivery.body as { n: number; poison?: boolean };
          if (body.poison) return deadLetter(`poison #${body.n}`);
          valid.push(body.n);
          return undefined;
        });
        const dead: Delivery[] = [];
        await bus.subscribe(`${queue}.dead`, async (delivery) => void dead.push(delivery));
        for (let n = 0; n < 10; n += 1) {
          await bus.publish(Exchanges.dispatch, queue, { n, poison: n === 3 }, { messageId: `m-${n}` });
        }
        await until(() => valid.length >= 9 && dead.length >= 1, 'valid deliveries and the dead letter');
        expect([...valid].sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
        expect(dead.length).toBe(1);
        expect(dead[0]?.messageId).toBe('m-3');
        expect(dead[0]?.headers[DEATH_REASON_HEADER]).toBe('poison #3');
        expect(dead[0]?.headers[DEATH_QUEUE_HEADER]).toBe(queue);
        expect(dead[0]?.attempt).toBe(1);
        expect(dead[0]?.body).toEqual({ n: 3, poison: true });
      } finally {
        await bus.deleteQueue(queue).catch(() => undefined);
        await bus.close();
      }
    });

    it('dead-letters content that is not JSON without calling the handler, and reports it', async () => {
      const bus = await open();
      const queue = `garbage.${randomUUID().slice(0, 8)}`;
      extraQueues.push(queue);
      try {
        await bus.declareQueue({ name: queue, bindings: [{ exchange: Exchanges.dispatch, pattern: queue }] });
        const handled: Delivery[] = [];
        const settlements: string[] = [];
        await bus.subscribe(queue, async (delivery) => void handled.push(delivery), {
          onSettled: (settlement) => settlements.push(settlement),
        });
        const connection = await amqpConnect(url);
        try {
          const channel = await connection.createConfirmChannel();
          channel.publish(qualify(prefix, Exchanges.dispatch), queue, Buffer.from('{not json'), {
            contentType: 'application/json',
            messageId: 'garbage-1',
          });
          await channel.waitForConfirms();
          await until(() => settlements.length >= 1, 'the settlement');
          // The dead letter is read raw: it is no more JSON than before.
          const letters: GetMessage[] = [];
          await until(async () => {
            const letter = await channel.get(qualify(prefix, `${queue}.dead`), { noAck: true });
            if (letter) letters.push(letter);
            return letters.length > 0;
          }, 'the dead letter');
          const [letter] = letters;
          expect(handled.length).toBe(0);
          expect(settlements).toEqual(['dead-letter']);
          assert.ok(letter);
          expect(letter.content.toString()).toBe('{not json');
          expect(letter.properties.messageId).toBe('garbage-1');
          expect(String(letter.properties.headers?.[DEATH_REASON_HEADER])).toMatch(/invalid content/);
        } finally {
          await connection.close();
        }
      } finally {
        await bus.deleteQueue(queue).catch(() => undefined);
        await bus.close();
      }
    });

    it('rejects a request routed to no queue with UnroutableError', async () => {
      const bus = await open();
      try {
        await assert.rejects(
          bus.request(Exchanges.dispatch, `nobody-home-${randomUUID()}`, {}, { timeoutMs: 5000 }),
          UnroutableError,
        );
      } finally {
        await bus.close();
      }
    });

    it('refuses unknown exchanges and queues, and everything after close', async () => {
      const bus = await open();
      await bus.ping();
      await assert.rejects(bus.publish('no.such.exchange', 'key', {}), /unknown exchange/);
      await assert.rejects(bus.queueStats(`no.such.queue.${randomUUID()}`), /unknown queue/);
      await assert.rejects(
        bus.subscribe(`no.such.queue.${randomUUID()}`, async () => undefined),
        /unknown queue/,
      );
      await assert.rejects(bus.publish(Exchanges.events, 'agent.x', undefined), TypeError);
      await bus.ping();
      await bus.close();
      await assert.rejects(bus.publish(Exchanges.events, 'agent.x', {}), /bus closed/);
      await assert.rejects(bus.ping(), /bus closed/);
      await bus.close();
    });

    it('consumes topology queues declared in the rascal config', async () => {
      const bus = await open();
      try {
        const received: Delivery[] = [];
        const subscription = await bus.subscribe('persistence.tasks', async (delivery) => void received.push(delivery));
        await bus.publish(Exchanges.persistence, 'task', { job: 1 });
        await until(() => received.length >= 1, 'the task');
        expect(received[0]?.exchange).toBe(Exchanges.persistence);
        expect(received[0]?.routingKey).toBe('task');
        await subscription.cancel();
      } finally {
        await bus.close();
      }
    });
  });
}

/** Closes the broker connection of that name from the broker side (management API, else `rabbitmqctl`). */
async function closeConnection(amqpUrl: string, connectionName: string): Promise<void> {
  const parsed = new URL(amqpUrl);
  const user = decodeURIComponent(parsed.username || 'guest');
  const password = decodeURIComponent(parsed.password || 'guest');
  const management = process.env.RABBITMQ_MANAGEMENT_URL ?? `http://${parsed.hostname}:15672`;
  const auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const names = await connectionsViaManagement(management, auth, connectionName).catch(() => undefined);
    if (names === undefined) return closeViaRabbitmqctl(connectionName);
    for (const name of names) {
      await fetch(`${management}/api/connections/${encodeURIComponent(name)}`, {
        method: 'DELETE',
        headers: { authorization: auth, 'x-reason': 'test: forced connection drop' },
      });
    }
    if (names.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no broker connection named ${connectionName}`);
}

async function connectionsViaManagement(management: string, auth: string, connectionName: string): Promise<string[]> {
  const response = await fetch(`${management}/api/connections`, { headers: { authorization: auth } });
  if (!response.ok) throw new Error(`management API answered ${response.status}`);
  const connections = (await response.json()) as { name: string; client_properties?: { connection_name?: string } }[];
  return connections.filter((c) => c.client_properties?.connection_name === connectionName).map((c) => c.name);
}

async function closeViaRabbitmqctl(connectionName: string): Promise<void> {
  const run = promisify(execFile);
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties']);
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`"${connectionName}"`))
    .map((line) => line.split('\t')[0] ?? '')
    .filter((pid) => pid.length > 0);
  if (pids.length === 0) throw new Error(`no broker connection named ${connectionName}`);
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'test: forced connection drop']);
}

/** Deletes every prefixed exchange and topology queue (the tests delete their own queues). */
async function cleanUp(amqpUrl: string, prefix: string, extraQueues: string[]): Promise<void> {
  const connection = await amqpConnect(amqpUrl);
  connection.on('error', () => undefined);
  const names = [
    ...topologyDeclarations(DROVER_TOPOLOGY, prefix).map((declaration) => declaration.qualifiedName),
    ...extraQueues.flatMap((queue) => [qualify(prefix, queue), qualify(prefix, `${queue}.dead`)]),
  ];
  try {
    for (const name of names) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(name).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of [...DROVER_TOPOLOGY.exchanges.map((e) => e.name), Exchanges.dead]) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteExchange(qualify(prefix, exchange)).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}
