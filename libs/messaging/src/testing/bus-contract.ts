import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { Exchanges } from '@drover/contracts';
import {
  type BindingSpec,
  type Bus,
  type Delivery,
  type Handler,
  type QueueSpec,
  RequestTimeoutError,
  type SubscribeOptions,
} from '../bus.port';
import { DEATH_QUEUE_HEADER, DEATH_REASON_HEADER, deadLetter, replaceWith, retryLater, waitFor } from '../outcomes';
import { INSTANCE_HEADER, Queues, sessionAgentQueue } from '../topology';

/** Options of the bus contract suite. */
export interface BusContractOptions {
  /** How long to wait before asserting that something did NOT happen. Default 100 ms. */
  settleMs?: number;
  /** Upper bound for every `until` poll. Default 5000 ms. */
  timeoutMs?: number;
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
  intervalMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve exposed: lets a test hold handlers until it says so. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** One test's bus plus the uniquely named queues and subscriptions it made, torn down by `dispose`. */
class Fixture {
  readonly id = randomUUID().slice(0, 8);
  private readonly queues: string[] = [];
  private readonly cancels: (() => Promise<void>)[] = [];

  constructor(
    readonly bus: Bus,
    readonly timeoutMs: number,
  ) {}

  /** A routing-key prefix no other test (or service) uses. */
  key(suffix: string): string {
    return `contract.${this.id}.${suffix}`;
  }

  /** Declares a queue named `contract.<id>.<suffix>` with the given bindings; returns its name. */
  async queue(suffix: string, bindings: BindingSpec[], extra: Partial<QueueSpec> = {}): Promise<string> {
    const name = `contract.${this.id}.${suffix}`;
    await this.bus.declareQueue({ name, bindings, ...extra });
    this.queues.push(name, `${name}.dead`);
    return name;
  }

  /** Deletes `name` (and no dead-letter queue of its own) when the test ends. */
  forget(name: string): void {
    this.queues.push(name);
  }

  /** Subscribes and records every delivery (in arrival order) before running `handler`. */
  async consume(queue: string, handler: Handler = async () => undefined, options?: SubscribeOptions) {
    const received: Delivery[] = [];
    const subscription = await this.bus.subscribe(
      queue,
      async (delivery) => {
        received.push(delivery);
        return handler(delivery);
      },
      options,
    );
    this.cancels.push(() => subscription.cancel());
    return { received, cancel: () => subscription.cancel() };
  }

  until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
    return until(condition, what, this.timeoutMs);
  }

  async dispose(): Promise<void> {
    for (const cancel of this.cancels) await cancel();
    for (const queue of this.queues) await this.bus.deleteQueue(queue).catch(() => undefined);
    await this.bus.close();
  }
}

/**
 * The behaviour every `Bus` adapter must show, as jest cases. Tests declare their own uniquely named
 * queues bound to the DROVER topology's exchanges, so the suite also runs against a real broker.
 */
export function busContract(name: string, open: () => Promise<Bus>, options: BusContractOptions = {}): void {
  const settleMs = options.settleMs ?? 100;
  const timeoutMs = options.timeoutMs ?? 5000;
  const settle = (): Promise<void> => sleep(settleMs);

  /** Runs `body` with a fresh fixture and always disposes it. */
  const withFixture = (body: (f: Fixture) => Promise<void>) => async (): Promise<void> => {
    const fixture = new Fixture(await open(), timeoutMs);
    try {
      await body(fixture);
    } finally {
      await fixture.dispose();
    }
  };

  describe(`bus contract: ${name}`, () => {
    it(
      'routes topic messages with * (one word) and # (zero or more words)',
      withFixture(async (f) => {
        const star = await f.queue('star', [{ exchange: Exchanges.events, pattern: f.key('*.created') }]);
        const hash = await f.queue('hash', [{ exchange: Exchanges.events, pattern: f.key('#') }]);
        const starred = await f.consume(star);
        const hashed = await f.consume(hash);
        const keys = [f.key('agent.created'), f.key('agent.x.created'), f.key('agent.deleted'), f.key('a.b.c')];
        for (const key of keys) await f.bus.publish(Exchanges.events, key, { key });
        await f.bus.publish(Exchanges.events, `contract.${f.id}`, { key: 'bare' });
        await f.bus.publish(Exchanges.events, f.key('last.created'), { key: 'last' });
        await f.until(() => starred.received.length >= 2 && hashed.received.length >= 6, 'topic deliveries');
        await settle();
        expect(starred.received.map((d) => d.routingKey)).toEqual([f.key('agent.created'), f.key('last.created')]);
        expect(hashed.received.length).toBe(6);
        expect(hashed.received[0]?.exchange).toBe(Exchanges.events);
      }),
    );

    it(
      'routes direct messages by the exact key only',
      withFixture(async (f) => {
        const queue = await f.queue('direct', [
          { exchange: Exchanges.dispatch, pattern: f.key('a') },
          { exchange: Exchanges.dispatch, pattern: f.key('*') },
        ]);
        const consumer = await f.consume(queue);
        await f.bus.publish(Exchanges.dispatch, f.key('ab'), { n: 1 });
        await f.bus.publish(Exchanges.dispatch, f.key('b'), { n: 2 });
        await f.bus.publish(Exchanges.dispatch, f.key('a'), { n: 3 });
        await f.until(() => consumer.received.length >= 1, 'the exact-key delivery');
        await settle();
        expect(consumer.received.map((d) => d.body)).toEqual([{ n: 3 }]);
      }),
    );

    it(
      'shares a queue between competing consumers, delivering each message exactly once',
      withFixture(async (f) => {
        const queue = await f.queue('compete', [{ exchange: Exchanges.dispatch, pattern: f.key('work') }]);
        const slowly = async (): Promise<void> => sleep(5);
        const first = await f.consume(queue, slowly, { prefetch: 1 });
        const second = await f.consume(queue, slowly, { prefetch: 1 });
        const total = 20;
        for (let n = 0; n < total; n += 1) await f.bus.publish(Exchanges.dispatch, f.key('work'), { n });
        await f.until(() => first.received.length + second.received.length >= total, 'all deliveries');
        await settle();
        const all = [...first.received, ...second.received].map((d) => (d.body as { n: number }).n);
        expect(all.length).toBe(total);
        expect(new Set(all).size).toBe(total);
        assert.ok(first.received.length > 0 && second.received.length > 0, 'both consumers get a share');
      }),
    );

    it(
      'keeps at most `prefetch` unacknowledged deliveries in flight per consumer',
      withFixture(async (f) => {
        const queue = await f.queue('prefetch', [{ exchange: Exchanges.dispatch, pattern: f.key('work') }]);
        const held = gate();
        let inFlight = 0;
        let peak = 0;
        const consumer = await f.consume(
          queue,
          async () => {
            inFlight += 1;
            peak = Math.max(peak, inFlight);
            await held.opened;
            inFlight -= 1;
          },
          { prefetch: 2 },
        );
        for (let n = 0; n < 5; n += 1) await f.bus.publish(Exchanges.dispatch, f.key('work'), { n });
        await f.until(() => consumer.received.length >= 2, 'two deliveries in flight');
        await settle();
        expect(consumer.received.length).toBe(2);
        await f.until(async () => (await f.bus.queueStats(queue)).messages === 5, 'five messages counted');
        held.open();
        await f.until(() => consumer.received.length >= 5, 'the rest of the deliveries');
        expect(peak).toBe(2);
      }),
    );

    it(
      'redelivers a message whose handler threw, with attempt 2',
      withFixture(async (f) => {
        const queue = await f.queue('throw', [{ exchange: Exchanges.dispatch, pattern: f.key('work') }]);
        const consumer = await f.consume(queue, async (delivery) => {
          if (delivery.attempt === 1) throw new Error('boom');
        });
        await f.bus.publish(Exchanges.dispatch, f.key('work'), { n: 1 }, { messageId: `m-${f.id}` });
        await f.until(() => consumer.received.length >= 2, 'the redelivery');
        const [first, second] = consumer.received;
        expect(first?.attempt).toBe(1);
        expect(second?.attempt).toBe(2);
        expect(second?.messageId).toBe(`m-${f.id}`);
        expect(second?.body).toEqual({ n: 1 });
      }),
    );

    it(
      'dead-letters a message retried up to the delivery limit, with the last reason',
      withFixture(async (f) => {
        const queue = await f.queue('limit', [{ exchange: Exchanges.dispatch, pattern: f.key('work') }], {
          deliveryLimit: 2,
        });
        const consumer = await f.consume(queue, async (delivery) => retryLater(`nope #${delivery.attempt}`, 10));
        const dead = await f.consume(`${queue}.dead`);
        await f.bus.publish(Exchanges.dispatch, f.key('work'), { n: 1 }, { messageId: `m-${f.id}` });
        await f.until(() => dead.received.length >= 1, 'the dead letter');
        await settle();
        expect(consumer.received.map((d) => d.attempt)).toEqual([1, 2]);
        const letter = dead.received[0];
        expect(letter?.messageId).toBe(`m-${f.id}`);
        expect(letter?.body).toEqual({ n: 1 });
        expect(letter?.routingKey).toBe(f.key('work'));
        expect(String(letter?.headers[DEATH_REASON_HEADER])).toMatch(/nope #2/);
        expect(letter?.headers[DEATH_QUEUE_HEADER]).toBe(queue);
      }),
    );

    it(
      'keeps a waiting message (waitFor) past the delivery limit, uncounted, until it can be handled',
      withFixture(async (f) => {
        const queue = await f.queue('wait', [{ exchange: Exchanges.dispatch, pattern: f.key('work') }], {
          deliveryLimit: 2,
        });
        let tries = 0;
        const consumer = await f.consume(queue, async () => {
          tries += 1;
          return tries <= 4 ? waitFor('the store is down', 10) : undefined;
        });
        const dead = await f.consume(`${queue}.dead`);
        await f.bus.publish(Exchanges.dispatch, f.key('work'), { n: 1 }, { messageId: `m-${f.id}` });
        await f.until(() => consumer.received.length >= 5, 'the fifth try');
        await settle();
        // Four waits on a queue whose limit is 2, and no attempt was used up by them.
        expect(consumer.received.map((d) => d.attempt)).toEqual([1, 1, 1, 1, 1]);
        expect(dead.received).toEqual([]);
      }),
    );

    it(
      'dead-letters at once on a deadLetter() outcome, without redelivery',
      withFixture(async (f) => {
        const queue = await f.queue('poison', [{ exchange: Exchanges.dispatch, pattern: f.key('work') }]);
        const consumer = await f.consume(queue, async () => deadLetter('unparseable'));
        const dead = await f.consume(`${queue}.dead`);
        await f.bus.publish(Exchanges.dispatch, f.key('work'), { n: 1 }, { headers: { 'x-test': 'kept' } });
        await f.until(() => dead.received.length >= 1, 'the dead letter');
        await settle();
        expect(consumer.received.length).toBe(1);
        const letter = dead.received[0];
        expect(String(letter?.headers[DEATH_REASON_HEADER])).toMatch(/unparseable/);
        expect(letter?.headers[DEATH_QUEUE_HEADER]).toBe(queue);
        expect(letter?.headers['x-test']).toBe('kept');
        expect(letter?.messageId).toBe(consumer.received[0]?.messageId);
      }),
    );

    it(
      "dead-letters a session agent's messages to the shared queue, naming the instance, with no queue of its own",
      withFixture(async (f) => {
        const instanceId = `contract-${f.id}`;
        const spec = sessionAgentQueue(instanceId, 60_000);
        await f.bus.declareQueue(spec);
        f.forget(spec.name);
        await assert.rejects(f.bus.queueStats(`${spec.name}.dead`), /unknown queue/);
        const consumer = await f.consume(spec.name, async () => deadLetter('unparseable'));
        const dead = await f.consume(Queues.sessionAgentsDead);
        await f.bus.publish(Exchanges.dispatch, instanceId, { n: 1 }, { messageId: `m-${f.id}` });
        const mine = () => dead.received.filter((letter) => letter.messageId === `m-${f.id}`);
        await f.until(() => mine().length >= 1, 'the dead letter');
        expect(consumer.received.length).toBe(1);
        const letter = mine()[0];
        expect(letter?.headers[INSTANCE_HEADER]).toBe(instanceId);
        expect(letter?.headers[DEATH_QUEUE_HEADER]).toBe(spec.name);
        expect(String(letter?.headers[DEATH_REASON_HEADER])).toMatch(/unparseable/);
      }),
    );

    it(
      'reports how each delivery was settled, a retry past the delivery limit as a dead letter',
      withFixture(async (f) => {
        const queue = await f.queue('settled', [{ exchange: Exchanges.events, pattern: f.key('#') }], {
          deliveryLimit: 2,
        });
        const settlements: string[] = [];
        await f.consume(
          queue,
          async (delivery) => {
            const { kind } = delivery.body as { kind: string };
            if (kind === 'poison') return deadLetter('poison');
            if (kind === 'flaky') return retryLater('flaky', 10);
            return undefined;
          },
          { onSettled: (settlement) => settlements.push(settlement) },
        );
        for (const kind of ['fine', 'poison', 'flaky']) {
          await f.bus.publish(Exchanges.events, f.key(kind), { kind });
          await f.until(() => settlements.length === (kind === 'flaky' ? 4 : kind === 'poison' ? 2 : 1), kind);
        }
        await settle();
        expect(settlements).toEqual(['ack', 'dead-letter', 'retry', 'dead-letter']);
      }),
    );

    it(
      'answers a request through the delivery reply',
      withFixture(async (f) => {
        const queue = await f.queue('rpc', [{ exchange: Exchanges.dispatch, pattern: f.key('ask') }]);
        const consumer = await f.consume(queue, async (delivery) => {
          await delivery.reply?.({ echo: delivery.body });
          await delivery.reply?.({ echo: 'ignored second reply' });
        });
        const answer = await f.bus.request(Exchanges.dispatch, f.key('ask'), { q: 42 }, { timeoutMs: timeoutMs });
        expect(answer).toEqual({ echo: { q: 42 } });
        expect(typeof consumer.received[0]?.reply).toBe('function');
      }),
    );

    it(
      'replaces a delivery in its queue: same id, exchange, routing key and reply address, the new body and headers',
      withFixture(async (f) => {
        const queue = await f.queue('swap', [{ exchange: Exchanges.dispatch, pattern: f.key('swap') }]);
        const consumer = await f.consume(queue, async (delivery) => {
          const { v } = delivery.body as { v: number };
          if (v === 1) return replaceWith({ v: 2 }, { 'x-swapped': 'yes' });
          await delivery.reply?.({ answered: v });
          return undefined;
        });
        const answer = await f.bus.request(
          Exchanges.dispatch,
          f.key('swap'),
          { v: 1 },
          { timeoutMs, messageId: 'swap-1' },
        );
        expect(answer).toEqual({ answered: 2 });
        const [first, second] = consumer.received;
        expect(consumer.received.length).toBe(2);
        expect(second).toMatchObject({
          messageId: 'swap-1',
          exchange: Exchanges.dispatch,
          routingKey: f.key('swap'),
          body: { v: 2 },
          attempt: 1,
        });
        expect(second?.headers['x-swapped']).toBe('yes');
        expect(second?.sender).toBe(first?.sender);
        await f.until(async () => (await f.bus.queueStats(queue)).messages === 0, 'nothing left in the queue');
      }),
    );

    it(
      'rejects an unanswered request with RequestTimeoutError',
      withFixture(async (f) => {
        const queue = await f.queue('silent', [{ exchange: Exchanges.dispatch, pattern: f.key('ask') }]);
        await f.consume(queue);
        await assert.rejects(
          f.bus.request(Exchanges.dispatch, f.key('ask'), { q: 1 }, { timeoutMs: 50 }),
          RequestTimeoutError,
        );
      }),
    );

    it(
      'preserves messageId and headers, and assigns a messageId when none is given',
      withFixture(async (f) => {
        const queue = await f.queue('ids', [{ exchange: Exchanges.dispatch, pattern: f.key('work') }]);
        const consumer = await f.consume(queue);
        await f.bus.publish(Exchanges.dispatch, f.key('work'), 1, { messageId: `m-${f.id}`, headers: { 'x-a': 'b' } });
        await f.bus.publish(Exchanges.dispatch, f.key('work'), 2);
        await f.until(() => consumer.received.length >= 2, 'both deliveries');
        const [given, assigned] = consumer.received;
        expect(given?.messageId).toBe(`m-${f.id}`);
        expect(given?.headers['x-a']).toBe('b');
        expect(given?.attempt).toBe(1);
        expect(typeof assigned?.messageId).toBe('string');
        expect((assigned?.messageId.length ?? 0) > 0).toBeTruthy();
        expect(assigned?.messageId).not.toBe(given?.messageId);
        expect(consumer.received[0]?.reply).toBe(undefined);
      }),
    );

    it(
      'delivers a copy of the body, never the published object',
      withFixture(async (f) => {
        const bindings = [{ exchange: Exchanges.events, pattern: f.key('copied') }];
        const left = await f.consume(await f.queue('left', bindings));
        const right = await f.consume(await f.queue('right', bindings));
        const body = { n: 1, nested: { list: [1] } };
        await f.bus.publish(Exchanges.events, f.key('copied'), body);
        body.nested.list.push(2);
        await f.until(() => left.received.length >= 1 && right.received.length >= 1, 'both deliveries');
        const [a, b] = [left.received[0]?.body, right.received[0]?.body];
        expect(a).toEqual({ n: 1, nested: { list: [1] } });
        expect(b).toEqual({ n: 1, nested: { list: [1] } });
        expect(a).not.toBe(body);
        expect(a).not.toBe(b);
      }),
    );

    it(
      'counts messages and consumers in queueStats',
      withFixture(async (f) => {
        const queue = await f.queue('stats', [{ exchange: Exchanges.dispatch, pattern: f.key('work') }]);
        for (let n = 0; n < 3; n += 1) await f.bus.publish(Exchanges.dispatch, f.key('work'), { n });
        await f.until(async () => (await f.bus.queueStats(queue)).messages === 3, 'three messages');
        expect((await f.bus.queueStats(queue)).consumers).toBe(0);
        const held = gate();
        const consumer = await f.consume(queue, () => held.opened);
        await f.until(async () => (await f.bus.queueStats(queue)).consumers === 1, 'one consumer');
        await f.until(() => consumer.received.length >= 1, 'a delivery');
        assert.equal((await f.bus.queueStats(queue)).messages, 3, 'unacked deliveries still count');
        held.open();
        await f.until(async () => (await f.bus.queueStats(queue)).messages === 0, 'an empty queue');
        await consumer.cancel();
        await f.until(async () => (await f.bus.queueStats(queue)).consumers === 0, 'no consumer');
      }),
    );

    it(
      'stops deliveries to a cancelled subscription',
      withFixture(async (f) => {
        const queue = await f.queue('cancel', [{ exchange: Exchanges.dispatch, pattern: f.key('work') }]);
        const consumer = await f.consume(queue);
        await f.bus.publish(Exchanges.dispatch, f.key('work'), { n: 1 });
        await f.until(() => consumer.received.length >= 1, 'the first delivery');
        await consumer.cancel();
        await f.bus.publish(Exchanges.dispatch, f.key('work'), { n: 2 });
        await f.until(async () => (await f.bus.queueStats(queue)).messages === 1, 'the message waiting in the queue');
        await settle();
        expect(consumer.received.length).toBe(1);
      }),
    );
  });
}
