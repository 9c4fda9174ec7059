import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp, { type ConfirmChannel } from 'amqplib';
import { Exchanges } from '@drover/contracts';
import { DEFAULT_RECOVERY_POLICY } from '@drover/domain';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { RabbitMqBus } from '@drover/messaging/rabbitmq';
import { createLogger, SecretBox, silentLogger, systemClock } from '@drover/runtime';
import { openMongoStore } from '@drover/store/mongodb';
import { openSqliteStore } from '@drover/store/sqlite';
import type { Store } from '@drover/store';
import { createTestVhost } from '@drover/testing/rabbitmq-vhost';
import { MongoClient } from 'mongodb';
import { Engine } from '../src/engine';
import { SHORT_HISTORY, streamLoad } from './stream-load';

/**
 * `npm run bench`: Drover's engine against a raw amqplib relay, in one run on one broker.
 *
 * (a) raw relay: publish with confirms -> consume -> publish with confirms -> consume, persistent,
 *     the same message size as a command: the floor any broker-backed processor pays.
 * (b) engine: start and stop commands for many agents, timed from publish (confirmed) to the
 *     commit's outbox message arriving (`session.start` dispatch, `agent.stop-requested` event).
 * Throughput runs with a bounded window of messages in flight; latency is measured again at
 * half the measured engine throughput.
 * (c) stream load: loading and folding an agent with `BENCH_HISTORY` commits against one with 100
 *     (snapshots keep the first close to the second).
 */
const AGENTS = Number(process.env.BENCH_AGENTS ?? 1_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 64);
const HISTORY = Number(process.env.BENCH_HISTORY ?? 10_000);

interface Run {
  perSecond: number;
  latenciesMs: number[];
}

async function main(): Promise<void> {
  const url = process.env.RABBITMQ_URL;
  if (!url) throw new Error('npm run bench needs RABBITMQ_URL (and the management plugin for a scratch vhost)');
  const vhost = await createTestVhost(url, 'drover-bench');
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-bench-'));
  try {
    const sample = JSON.stringify(startCommand('agent-000000', 0));
    const raw = await rawRelay(vhost.url, AGENTS * 2, Buffer.byteLength(sample));
    log(`raw relay: ${raw.perSecond.toFixed(0)} msg/s (${AGENTS * 2} messages of ${Buffer.byteLength(sample)} bytes)`);

    // One line per store: SQLite always, MongoDB too when MONGO_URL names a server.
    const stores: { kind: string; open: () => Promise<Store>; drop?: (store: Store) => Promise<void> }[] = [
      { kind: 'sqlite', open: async () => openSqliteStore({ dataDir }) },
    ];
    const mongoUrl = process.env.MONGO_URL;
    if (mongoUrl) {
      const dbName = `drover_bench_${Date.now()}`;
      stores.push({
        kind: 'mongodb',
        open: () => openMongoStore(mongoUrl, { dbName }),
        drop: () => dropDb(mongoUrl, dbName),
      });
    }
    for (const [index, candidate] of stores.entries()) {
      const store = await candidate.open();
      const bus = await RabbitMqBus.connect(vhost.url, DROVER_TOPOLOGY, { prefetch: WINDOW });
      const engine = new Engine(
        {
          bus,
          store,
          clock: systemClock,
          logger: process.env.BENCH_LOG ? createLogger('bench') : silentLogger(),
          secrets: SecretBox.fresh(),
        },
        { policy: DEFAULT_RECOVERY_POLICY, prefetch: WINDOW },
      );
      await engine.start();
      // Each store gets its own agents, so nothing one run left in a queue is mistaken for the next's.
      const prefix = `s${index}-`;
      const full = await engineRun(vhost.url, `${prefix}full`, AGENTS, undefined);
      log(`engine (${store.kind}): ${full.perSecond.toFixed(0)} cmd/s at full load`);
      const half = await engineRun(vhost.url, `${prefix}half`, Math.min(AGENTS, 500), full.perSecond / 2);
      await engine.stop();
      await bus.close();
      const load = await streamLoad(store, HISTORY);
      await store.close();
      await candidate.drop?.(store);

      const ratio = full.perSecond / raw.perSecond;
      console.log(
        `bench (${candidate.kind}): engine ${full.perSecond.toFixed(0)} cmd/s, raw relay ${raw.perSecond.toFixed(0)} msg/s, ` +
          `ratio ${ratio.toFixed(2)}, p50 ${percentile(half.latenciesMs, 50).toFixed(1)} ms, ` +
          `p99 ${percentile(half.latenciesMs, 99).toFixed(1)} ms`,
      );
      console.log(
        `stream load (${candidate.kind}): an agent with ${load.history} commits loads in ${load.longMs.toFixed(2)} ms, ` +
          `one with ${SHORT_HISTORY} in ${load.shortMs.toFixed(2)} ms: ratio ${(load.longMs / load.shortMs).toFixed(2)} (goal: about 1)`,
      );
    }
  } finally {
    await vhost.delete();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Two confirmed, persistent hops through the broker, `count` messages, `WINDOW` in flight. */
async function rawRelay(url: string, count: number, size: number): Promise<Run> {
  const connection = await amqp.connect(url);
  const publisher = await connection.createConfirmChannel();
  const relay = await connection.createConfirmChannel();
  const sink = await connection.createChannel();
  // Quorum queues, as Drover declares its own: the comparison is against the same broker setup.
  for (const queue of ['bench.hop1', 'bench.hop2']) {
    await publisher.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  }
  await relay.prefetch(WINDOW);
  await sink.prefetch(WINDOW);
  const body = Buffer.alloc(size, 'x');
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let relayed = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const check = () => latencies.length === count && relayed === count && done();

  await relay.consume('bench.hop1', (message) => {
    if (!message) return;
    const options = { persistent: true, messageId: message.properties.messageId as string };
    // The first hop is acked once the second is confirmed, as a relay must.
    relay.publish('', 'bench.hop2', message.content, options, (error) => {
      if (error) return;
      relay.ack(message);
      relayed += 1;
      check();
    });
  });
  await sink.consume('bench.hop2', (message) => {
    if (!message) return;
    const id = message.properties.messageId as string;
    latencies.push(performance.now() - (sentAt.get(id) ?? 0));
    sink.ack(message);
    check();
  });

  const started = performance.now();
  await windowed(
    count,
    async (i) => {
      const id = `raw-${i}`;
      sentAt.set(id, performance.now());
      await confirmPublish(publisher, '', 'bench.hop1', body, id);
    },
    () => sentAt.size - latencies.length,
  );
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await connection.close();
  return { perSecond: count / seconds, latenciesMs: latencies };
}

/**
 * Starts then stops `agents` agents; a command is done when its commit's outbox message is seen.
 * With `ratePerSecond`, commands are paced (latency at a given load); otherwise windowed.
 */
async function engineRun(url: string, label: string, agents: number, ratePerSecond: number | undefined): Promise<Run> {
  const connection = await amqp.connect(url);
  const publisher = await connection.createConfirmChannel();
  const tap = await connection.createChannel();
  const { queue } = await tap.assertQueue('', { exclusive: true });
  await tap.bindQueue(queue, Exchanges.dispatch, 'pending');
  await tap.bindQueue(queue, Exchanges.events, 'agent.stop-requested');
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const total = agents * 2;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await tap.consume(
    queue,
    (message) => {
      if (!message) return;
      const body = JSON.parse(message.content.toString()) as { type: string; agentId: string };
      const key = `${body.type === 'session.start' ? 'start' : 'stop'}:${body.agentId}`;
      const at = sentAt.get(key);
      if (at !== undefined) {
        latencies.push(performance.now() - at);
        sentAt.delete(key);
        if (latencies.length === total) done();
      }
    },
    { noAck: true },
  );

  const commands = Array.from({ length: agents }, (_, i) => `${label}-${String(i).padStart(6, '0')}`).flatMap(
    (agentId, i) => [
      { key: `start:${agentId}`, command: startCommand(agentId, i) },
      { key: `stop:${agentId}`, command: stopCommand(agentId, i) },
    ],
  );
  // Starts first, then stops: a stop only becomes a transition once its agent is starting.
  const ordered = [...commands.filter((_, i) => i % 2 === 0), ...commands.filter((_, i) => i % 2 === 1)];
  const started = performance.now();
  const send = async (i: number) => {
    const { key, command } = ordered[i]!;
    sentAt.set(key, performance.now());
    await confirmPublish(
      publisher,
      Exchanges.commands,
      command.type,
      Buffer.from(JSON.stringify(command)),
      command.messageId,
    );
  };
  if (ratePerSecond) {
    const gapMs = 1000 / ratePerSecond;
    const confirms: Promise<void>[] = [];
    for (let i = 0; i < ordered.length; i += 1) {
      confirms.push(send(i));
      const wait = started + (i + 1) * gapMs - performance.now();
      if (wait > 0) await sleep(wait);
    }
    await Promise.all(confirms);
  } else {
    await windowed(ordered.length, send, () => sentAt.size);
  }
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await connection.close();
  return { perSecond: total / seconds, latenciesMs: latencies };
}

/**
 * Runs `send(i)` for every i without waiting for each confirm (publishers pipeline), keeping
 * at most WINDOW messages outstanding end to end; resolves once every publish is confirmed.
 */
async function windowed(count: number, send: (i: number) => Promise<void>, outstanding: () => number): Promise<void> {
  const confirms: Promise<void>[] = [];
  for (let i = 0; i < count; i += 1) {
    while (outstanding() >= WINDOW) await new Promise<void>((resolve) => setImmediate(resolve));
    confirms.push(send(i));
  }
  await Promise.all(confirms);
}

function confirmPublish(channel: ConfirmChannel, exchange: string, key: string, body: Buffer, messageId: string) {
  return new Promise<void>((resolve, reject) =>
    channel.publish(exchange, key, body, { persistent: true, messageId, contentType: 'application/json' }, (error) =>
      error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(),
    ),
  );
}

function startCommand(agentId: string, i: number) {
  return {
    messageId: `bench-start-${agentId}-${i}`,
    type: 'agent.start',
    agentId,
    payload: { behavior: 'http-monitor', config: { url: 'http://127.0.0.1:9/', intervalMs: 1000 } },
  };
}

function stopCommand(agentId: string, i: number) {
  return { messageId: `bench-stop-${agentId}-${i}`, type: 'agent.stop', agentId, payload: { reason: 'bench' } };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});

async function dropDb(url: string, dbName: string): Promise<void> {
  const client = await MongoClient.connect(url);
  try {
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}
