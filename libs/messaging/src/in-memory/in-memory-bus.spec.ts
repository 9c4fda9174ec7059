import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { Exchanges } from '@drover/contracts';
import { UnroutableError, type Delivery } from '../bus.port';
import { DEATH_REASON_HEADER, deadLetter, retryLater } from '../outcomes';
import { busContract, until } from '../testing/bus-contract';
import { DROVER_TOPOLOGY, Queues, sessionAgentQueue } from '../topology';
import { bindingMatches, InMemoryBus } from './in-memory-bus';

const openBus = (): InMemoryBus => new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [10] });

busContract('in-memory', async () => openBus());

describe('InMemoryBus', () => {
  it('rejects publishing to an unknown exchange', async () => {
    const bus = openBus();
    await assert.rejects(bus.publish('no.such.exchange', 'key', {}), /unknown exchange/);
    await bus.close();
  });

  it('rejects a request nobody is bound to with UnroutableError', async () => {
    const bus = openBus();
    await assert.rejects(bus.request(Exchanges.dispatch, 'nobody-home', {}, { timeoutMs: 5000 }), UnroutableError);
    await bus.close();
  });

  it('drops a published message routed to no queue', async () => {
    const bus = openBus();
    await bus.publish(Exchanges.dispatch, 'nobody-home', {});
    await bus.close();
  });

  it('rejects publishes, pings and subscriptions after close', async () => {
    const bus = openBus();
    await bus.ping();
    await bus.close();
    await assert.rejects(bus.publish(Exchanges.events, 'agent.started', {}), /bus closed/);
    await assert.rejects(bus.ping(), /bus closed/);
    await assert.rejects(
      bus.subscribe(Queues.engineCommands, async () => undefined),
      /bus closed/,
    );
    await bus.close();
  });

  it('refuses subscriptions to unknown queues and stats of unknown queues', async () => {
    const bus = openBus();
    await assert.rejects(
      bus.subscribe('no.such.queue', async () => undefined),
      /unknown queue/,
    );
    await assert.rejects(bus.queueStats('no.such.queue'), /unknown queue/);
    await bus.close();
  });

  it('refuses bodies JSON cannot carry', async () => {
    const bus = openBus();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await assert.rejects(bus.publish(Exchanges.events, 'agent.x', circular));
    await assert.rejects(bus.publish(Exchanges.events, 'agent.x', undefined), TypeError);
    await bus.close();
  });

  it('declares a dead-letter queue per topology queue, and none when asked not to', async () => {
    const bus = openBus();
    expect(await bus.queueStats(`${Queues.engineCommands}.dead`)).toEqual({ messages: 0, consumers: 0 });
    await bus.declareQueue({ name: 'plain', bindings: [], deadLetterQueue: false });
    await assert.rejects(bus.queueStats('plain.dead'), /unknown queue/);
    await bus.declareQueue({ name: 'named', bindings: [], deadLetterQueue: 'graveyard' });
    await bus.queueStats('graveyard');
    await bus.close();
  });

  it('has the shared session-agents dead-letter queue from the start, and no dead-letter queue per instance', async () => {
    const bus = openBus();
    expect(await bus.queueStats(Queues.sessionAgentsDead)).toEqual({ messages: 0, consumers: 0 });
    await bus.declareQueue(sessionAgentQueue('sa-1', 1000));
    await assert.rejects(bus.queueStats('session-agent.sa-1.dead'), /unknown queue/);
    await bus.close();
  });

  it('adds bindings when a queue is declared again', async () => {
    const bus = openBus();
    const received: Delivery[] = [];
    await bus.declareQueue({ name: 'again', bindings: [{ exchange: Exchanges.dispatch, pattern: 'one' }] });
    await bus.declareQueue({ name: 'again', bindings: [{ exchange: Exchanges.dispatch, pattern: 'two' }] });
    await bus.subscribe('again', async (delivery) => void received.push(delivery));
    await bus.publish(Exchanges.dispatch, 'one', 1);
    await bus.publish(Exchanges.dispatch, 'two', 2);
    await until(() => received.length >= 2, 'both deliveries');
    await bus.close();
  });

  it('deletes an auto-delete queue when its last consumer cancels', async () => {
    const bus = openBus();
    await bus.declareQueue({ name: 'temp', bindings: [], autoDelete: true });
    const first = await bus.subscribe('temp', async () => undefined);
    const second = await bus.subscribe('temp', async () => undefined);
    await first.cancel();
    expect((await bus.queueStats('temp')).consumers).toBe(1);
    await second.cancel();
    await assert.rejects(bus.queueStats('temp'), /unknown queue/);
    await bus.close();
  });

  it('uses the configured retry delays and the default delivery limit', async () => {
    const bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [1], defaultDeliveryLimit: 3 });
    await bus.declareQueue({ name: 'limited', bindings: [{ exchange: Exchanges.dispatch, pattern: 'limited' }] });
    const attempts: number[] = [];
    await bus.subscribe('limited', async (delivery) => {
      attempts.push(delivery.attempt);
      return retryLater('again');
    });
    const dead: Delivery[] = [];
    await bus.subscribe('limited.dead', async (delivery) => void dead.push(delivery));
    await bus.publish(Exchanges.dispatch, 'limited', {});
    await until(() => dead.length >= 1, 'the dead letter');
    expect(attempts).toEqual([1, 2, 3]);
    expect(dead[0]?.headers[DEATH_REASON_HEADER]).toBe('delivery limit 3 reached: again');
    await bus.close();
  });

  it('bounds dead-letter queues by length (oldest dropped) and by age, and no other queue', async () => {
    let now = 1_000_000;
    const bus = new InMemoryBus(DROVER_TOPOLOGY, {
      retryDelaysMs: [1],
      deadLetterBounds: { maxLength: 3, maxAgeMs: 60_000 },
      now: () => now,
    });
    await bus.declareQueue({ name: 'poison', bindings: [{ exchange: Exchanges.dispatch, pattern: 'poison' }] });
    let deadLettered = 0;
    await bus.subscribe('poison', async () => deadLetter('unreadable'), { onSettled: () => (deadLettered += 1) });
    for (let i = 1; i <= 5; i += 1) {
      await bus.publish(Exchanges.dispatch, 'poison', { i }, { messageId: `p-${i}` });
      await until(() => deadLettered === i, `dead letter ${i}`);
      now += 10_000;
    }
    expect(await bus.queueStats('poison.dead')).toEqual({ messages: 3, consumers: 0 });
    // p-3, p-4 and p-5 entered 30, 20 and 10 s ago: 35 s later p-3 alone is over 60 s old.
    now += 35_000;
    expect((await bus.queueStats('poison.dead')).messages).toBe(2);
    const kept: string[] = [];
    await bus.subscribe('poison.dead', async (delivery) => void kept.push(delivery.messageId));
    await until(() => kept.length >= 2, 'what is left');
    expect(kept).toEqual(['p-4', 'p-5']);
    // An ordinary queue keeps everything, however old.
    await bus.declareQueue({ name: 'plain', bindings: [{ exchange: Exchanges.dispatch, pattern: 'plain' }] });
    for (let i = 0; i < 5; i += 1) await bus.publish(Exchanges.dispatch, 'plain', { i });
    now += 3_600_000;
    expect((await bus.queueStats('plain')).messages).toBe(5);
    expect(await bus.queueStats(Queues.sessionAgentsDead)).toEqual({ messages: 0, consumers: 0 });
    await bus.close();
  });

  it('fails pending requests when closed', async () => {
    const bus = openBus();
    await bus.declareQueue({ name: 'quiet', bindings: [{ exchange: Exchanges.dispatch, pattern: 'quiet' }] });
    const pending = bus.request(Exchanges.dispatch, 'quiet', {}, { timeoutMs: 60_000 });
    await bus.close();
    await assert.rejects(pending, /bus closed/);
  });

  it('matches bindings like AMQP exchanges', () => {
    expect(bindingMatches('topic', 'a.*.c', 'a.b.c')).toBe(true);
    expect(bindingMatches('topic', 'a.*.c', 'a.c')).toBe(false);
    expect(bindingMatches('topic', 'a.#', 'a')).toBe(true);
    expect(bindingMatches('topic', 'a.#.z', 'a.b.c.z')).toBe(true);
    expect(bindingMatches('topic', '#', 'anything.at.all')).toBe(true);
    expect(bindingMatches('topic', 'a.b', 'a.b.c')).toBe(false);
    expect(bindingMatches('direct', 'a.*', 'a.b')).toBe(false);
    expect(bindingMatches('fanout', 'x', 'y')).toBe(true);
  });
});
