import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Collections, Exchanges, READ_SIDE_INDEXES, redactDeadLetterBody } from '@drover/contracts';
import {
  DEATH_QUEUE_HEADER,
  DEATH_REASON_HEADER,
  deadLetter,
  DROVER_TOPOLOGY,
  INSTANCE_HEADER,
  Queues,
  type Delivery,
} from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { silentLogger, systemClock, type Clock } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { eventually } from '@drover/testing';
import { PersistenceAgent } from '../persistence-agent';
import { ReadSidePruner } from '../prune-read-side/read-side-pruner';
import { deadLetterQueues } from './dead-letter-keeper';
import { deadLetterRecord } from './dead-letter-record';

const SEALED = 'sealed.v1.k1.bm9uY2U.Y2lwaGVy.dGFn';

describe('dead-letter records', () => {
  const now = new Date('2026-03-10T12:00:00.000Z');
  const delivery = (overrides: Partial<Delivery>): Delivery => ({
    body: { messageId: 'm-1', type: 'agent.stop', agentId: 'a-1', payload: {} },
    exchange: Exchanges.commands,
    routingKey: 'agent.stop',
    messageId: 'm-1',
    headers: {},
    attempt: 1,
    ...overrides,
  });

  it('takes the origin and reason of a dead letter the broker made (x-death), and counts its deaths', () => {
    const record = deadLetterRecord(
      delivery({
        exchange: Exchanges.dead,
        routingKey: Queues.engineCommands,
        headers: {
          'x-first-death-reason': 'delivery_limit',
          'x-first-death-queue': Queues.engineCommands,
          'x-death': [
            {
              queue: Queues.engineCommands,
              reason: 'delivery_limit',
              count: 2,
              exchange: Exchanges.commands,
              'routing-keys': ['agent.stop'],
              time: { '!': 'timestamp', value: 1_770_000_000 },
            },
          ],
        },
      }),
      `${Queues.engineCommands}.dead`,
      now,
    );
    expect(record).toMatchObject({
      queue: Queues.engineCommands,
      exchange: Exchanges.commands,
      routingKey: 'agent.stop',
      reason: 'dead-lettered by the broker: delivery_limit',
      deaths: 2,
      deadLetteredAt: new Date(1_770_000_000_000).toISOString(),
      filedAt: now.toISOString(),
      replayable: true,
    });
  });

  it("names a session agent's own queue for a dead letter of the shared queue", () => {
    const record = deadLetterRecord(
      delivery({
        exchange: Exchanges.dispatch,
        routingKey: 'sa-1',
        body: { messageId: 'd-1', type: 'session.stop', agentId: 'a-1' },
        messageId: 'd-1',
        headers: {
          [DEATH_REASON_HEADER]: 'invalid dispatch',
          [DEATH_QUEUE_HEADER]: 'session-agent.sa-1',
          [INSTANCE_HEADER]: 'sa-1',
        },
      }),
      Queues.sessionAgentsDead,
      now,
    );
    expect(record).toMatchObject({
      queue: 'session-agent.sa-1',
      deadLetterQueue: Queues.sessionAgentsDead,
      reason: 'invalid dispatch',
      replayable: false,
      headers: { [INSTANCE_HEADER]: 'sa-1' },
    });
    expect(record.notReplayableReason).toMatch(/drover\.commands/);
  });

  it('gives the same dead letter the same id, and another message id another one', () => {
    const one = deadLetterRecord(delivery({}), `${Queues.engineCommands}.dead`, now);
    const again = deadLetterRecord(delivery({}), `${Queues.engineCommands}.dead`, new Date());
    const other = deadLetterRecord(delivery({ messageId: 'm-2' }), `${Queues.engineCommands}.dead`, now);
    expect(again._id).toBe(one._id);
    expect(other._id).not.toBe(one._id);
    expect(one._id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps sealed secrets (ciphertext) and replaces secrets in clear, saying so', () => {
    const sealed = { type: 'agent.start', payload: { proxy: 'http://***:***@p:1/', secrets: SEALED } };
    expect(redactDeadLetterBody(sealed)).toEqual({ body: sealed, changed: false });
    const clear = { type: 'agent.start', payload: { config: { password: 'hunter2' }, proxy: 'http://u:pw@p:1/' } };
    const redacted = redactDeadLetterBody(clear);
    expect(redacted.changed).toBe(true);
    expect(JSON.stringify(redacted.body)).not.toMatch(/hunter2|pw@/);
  });
});

describe('the dead-letter keeper', () => {
  let store: Store;
  let bus: InMemoryBus;
  let agent: PersistenceAgent | undefined;

  beforeEach(async () => {
    store = openSqliteStore({ filename: ':memory:' });
    bus = new InMemoryBus(DROVER_TOPOLOGY);
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await bus.close();
    await store.close();
  });

  const letters = () => store.documents.collection(Collections.deadLetters);

  it('consumes every dead-letter queue of the topology', () => {
    expect(deadLetterQueues(DROVER_TOPOLOGY).sort()).toEqual(
      [...DROVER_TOPOLOGY.queues.map((queue) => `${queue.name}.dead`), Queues.sessionAgentsDead].sort(),
    );
  });

  it('files what waited in a dead-letter queue while it was away, once however often it died', async () => {
    // A consumer in the engine's place that refuses everything.
    await bus.subscribe(Queues.engineCommands, async () => deadLetter('refused by the test'));
    const command = { messageId: 'twice', type: 'agent.stop', agentId: 'a-1', payload: {} };
    await bus.publish(Exchanges.commands, command.type, command, { messageId: command.messageId });
    await bus.publish(Exchanges.commands, command.type, command, { messageId: command.messageId });
    const dead = `${Queues.engineCommands}.dead`;
    await eventually('both in the dead-letter queue', async () =>
      (await bus.queueStats(dead)).messages === 2 ? true : undefined,
    );

    agent = new PersistenceAgent({ bus, store, clock: systemClock, logger: silentLogger() }, { keepDeadLetters: true });
    await agent.start();
    await eventually('the queue drained', async () => ((await bus.queueStats(dead)).messages === 0 ? true : undefined));
    const filed = await letters().find();
    expect(filed).toHaveLength(1);
    expect(filed[0]).toMatchObject({
      queue: Queues.engineCommands,
      messageId: 'twice',
      reason: 'refused by the test',
      body: command,
      replayable: true,
    });
  });

  it('leaves dead letters in their queues when it is off', async () => {
    await bus.subscribe(Queues.engineCommands, async () => deadLetter('refused by the test'));
    agent = new PersistenceAgent({ bus, store, clock: systemClock, logger: silentLogger() });
    await agent.start();
    const command = { messageId: 'kept', type: 'agent.stop', agentId: 'a-1', payload: {} };
    await bus.publish(Exchanges.commands, command.type, command, { messageId: command.messageId });
    const dead = `${Queues.engineCommands}.dead`;
    await eventually('in the dead-letter queue', async () =>
      (await bus.queueStats(dead)).messages === 1 ? true : undefined,
    );
    expect(await letters().count()).toBe(0);
  });
});

describe('dead-letter retention', () => {
  const NOW = new Date('2026-03-10T12:00:00.000Z');
  const clock: Clock = { now: () => NOW };
  let store: Store;

  beforeEach(async () => {
    store = openSqliteStore({ filename: ':memory:' });
    for (const index of READ_SIDE_INDEXES) await store.documents.collection(index.collection).ensureIndex(index.fields);
  });
  afterEach(async () => {
    await store.close();
  });

  it('deletes dead letters older than maxAgeMs, then all but the newest maxLength', async () => {
    const letters = store.documents.collection(Collections.deadLetters);
    // Dead-lettered 1, 2, ... 6 hours ago.
    for (let hours = 1; hours <= 6; hours += 1) {
      const at = new Date(NOW.getTime() - hours * 3_600_000).toISOString();
      const id = String(hours).padStart(32, '0');
      await letters.insert({ _id: id, key: `${at}|${id}`, deadLetteredAt: at, queue: 'q' });
    }
    const unlimited = { maxAgeMs: null, maxPerAgent: null };
    const pruner = new ReadSidePruner(
      { store, clock, logger: silentLogger() },
      {
        activities: unlimited,
        commands: unlimited,
        deadLetters: { maxAgeMs: 5 * 3_600_000 - 1, maxLength: 2 },
        sweepIntervalMs: 60_000,
        batchSize: 2,
        batchesPerSweep: 100,
      },
    );
    const report = await pruner.sweep();
    expect(report).toEqual({ deleted: { activities: 0, commands: 0, deadLetters: 4, feed: 0 }, finished: true });
    const left = await letters.find(undefined, { sort: [{ field: 'key', direction: 'desc' }] });
    expect(left.map((doc) => doc._id)).toEqual([String(1).padStart(32, '0'), String(2).padStart(32, '0')]);
  });
});
