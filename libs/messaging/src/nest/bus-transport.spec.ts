import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { Controller, Inject, Module, UseFilters } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { INestMicroservice } from '@nestjs/common';
import { lastValueFrom, of, type Observable } from 'rxjs';
import type { Delivery, Outcome, Topology } from '../bus.port';
import { InMemoryBus } from '../in-memory/in-memory-bus';
import { deadLetter, DEATH_REASON_HEADER } from '../outcomes';
import { until } from '../testing/bus-contract';
import { BusClientProxy } from './bus.client';
import { BusExceptionFilter } from './bus-exception.filter';
import { BusContext, BusServer, DeadLetterError } from './bus.server';

const EXCHANGE = 'test.topic';
const TOPOLOGY: Topology = {
  exchanges: [{ name: EXCHANGE, type: 'topic' }],
  queues: [
    { name: 'orders', bindings: [{ exchange: EXCHANGE, pattern: 'order.*' }], deliveryLimit: 5 },
    { name: 'rpc', bindings: [{ exchange: EXCHANGE, pattern: 'rpc.*' }] },
    { name: 'failing', bindings: [{ exchange: EXCHANGE, pattern: 'fail.*' }], deliveryLimit: 2 },
    { name: 'unhandled', bindings: [{ exchange: EXCHANGE, pattern: 'misc.*' }] },
  ],
};

interface Seen {
  handler: string;
  body: unknown;
  routingKey: string;
  attempt: number;
}

const RECORDER = Symbol('recorder');

/** What a store adapter throws while its server is down. */
class StoreDown extends Error {
  constructor() {
    super('the store is down');
  }
}

class Recorder {
  readonly seen: Seen[] = [];
  record(handler: string, body: unknown, ctx: BusContext): void {
    const { routingKey, attempt } = ctx.getDelivery();
    this.seen.push({ handler, body, routingKey, attempt });
  }
  of(handler: string): Seen[] {
    return this.seen.filter((seen) => seen.handler === handler);
  }
}

@Controller()
class TestController {
  constructor(@Inject(RECORDER) private readonly recorder: Recorder) {}

  @EventPattern<string>('orders:order.created')
  created(@Payload() body: unknown, @Ctx() ctx: BusContext): void {
    this.recorder.record('created', body, ctx);
  }

  @EventPattern<string>('orders:order.bad')
  bad(): Outcome {
    return deadLetter('bad');
  }

  @EventPattern<string>('orders:order.observed')
  observed(): Observable<Outcome> {
    return of(deadLetter('observed'));
  }

  @EventPattern<string>('orders:order.flaky')
  async flaky(@Payload() body: unknown, @Ctx() ctx: BusContext): Promise<void> {
    this.recorder.record('flaky', body, ctx);
    if (ctx.getDelivery().attempt === 1) throw new Error('first attempt fails');
  }

  @EventPattern<string>('orders')
  anyOrder(@Payload() body: unknown, @Ctx() ctx: BusContext): void {
    this.recorder.record('orders', body, ctx);
  }

  @EventPattern<string>('failing')
  @UseFilters(BusExceptionFilter)
  failing(): void {
    throw new Error('boom');
  }

  /** Fails as if its store were down on the first two tries. */
  @EventPattern<string>('failing:fail.wait')
  @UseFilters(BusExceptionFilter)
  waiting(@Payload() body: unknown, @Ctx() ctx: BusContext): void {
    this.recorder.record('waiting', body, ctx);
    if (this.recorder.of('waiting').length <= 2) throw new StoreDown();
  }

  @MessagePattern('rpc')
  async add(@Payload() body: { a: number; b: number }): Promise<{ sum: number }> {
    return { sum: body.a + body.b };
  }

  @MessagePattern('rpc:rpc.refuse')
  refuse(): never {
    throw new DeadLetterError('refused', { error: 'refused' });
  }
}

@Module({ controllers: [TestController], providers: [{ provide: RECORDER, useValue: new Recorder() }] })
class TestModule {}

describe('BusServer / BusClientProxy', () => {
  let bus: InMemoryBus;
  let app: INestMicroservice;
  let recorder: Recorder;
  let client: BusClientProxy;
  const dead = new Map<string, Delivery[]>();

  beforeAll(async () => {
    bus = new InMemoryBus(TOPOLOGY, { retryDelaysMs: [5] });
    for (const queue of ['orders.dead', 'rpc.dead', 'failing.dead', 'unhandled.dead']) {
      const letters: Delivery[] = [];
      dead.set(queue, letters);
      await bus.subscribe(queue, async (delivery) => {
        letters.push(delivery);
      });
    }
    // The module as the application declares it, with the recorder swapped for the test's own.
    recorder = new Recorder();
    const moduleRef = await Test.createTestingModule({ imports: [TestModule] })
      .overrideProvider(RECORDER)
      .useValue(recorder)
      .compile();
    app = moduleRef.createNestMicroservice({
      strategy: new BusServer(bus, {
        queues: [{ name: 'orders' }, { name: 'rpc', prefetch: 2 }, { name: 'failing' }, { name: 'unhandled' }],
        isUnavailable: (error) => error instanceof StoreDown,
      }),
      logger: false,
    });
    await app.listen();
    expect(app.get<Recorder>(RECORDER)).toBe(recorder);
    client = new BusClientProxy(bus, { timeoutMs: 2000 });
  });

  afterAll(async () => {
    await app.close();
    await bus.close();
  });

  const deadLetters = (queue: string): Delivery[] => dead.get(queue) ?? [];
  const deadWith = (queue: string, reason: string): Delivery | undefined =>
    deadLetters(queue).find((delivery) => delivery.headers[DEATH_REASON_HEADER] === reason);

  it('delivers events to @EventPattern handlers with the body and a BusContext, and acks them', async () => {
    await bus.publish(EXCHANGE, 'order.created', { id: 1 });
    await until(() => recorder.of('created').length === 1, 'the created event');
    expect(recorder.of('created')).toEqual([
      { handler: 'created', body: { id: 1 }, routingKey: 'order.created', attempt: 1 },
    ]);
    await until(async () => (await bus.queueStats('orders')).messages === 0, 'the ack');
  });

  it('prefers a <queue>:<routingKey> handler and falls back to the queue-wide one', async () => {
    await bus.publish(EXCHANGE, 'order.other', { id: 2 });
    await until(() => recorder.of('orders').length === 1, 'the queue-wide handler');
    expect(recorder.of('orders')[0]?.routingKey).toBe('order.other');
    expect(recorder.of('orders').some((seen) => seen.routingKey === 'order.created')).toBe(false);
  });

  it('dead-letters with the outcome an event handler returns (value or observable)', async () => {
    await bus.publish(EXCHANGE, 'order.bad', { id: 3 });
    await bus.publish(EXCHANGE, 'order.observed', { id: 4 });
    await until(() => deadWith('orders.dead', 'bad') !== undefined, 'the bad dead letter');
    await until(() => deadWith('orders.dead', 'observed') !== undefined, 'the observed dead letter');
    expect(deadWith('orders.dead', 'bad')?.body).toEqual({ id: 3 });
  });

  it('retries an event handler that throws; the redelivery has attempt 2', async () => {
    await bus.publish(EXCHANGE, 'order.flaky', { id: 5 });
    await until(() => recorder.of('flaky').length === 2, 'the redelivery');
    expect(recorder.of('flaky').map((seen) => seen.attempt)).toEqual([1, 2]);
    await until(async () => (await bus.queueStats('orders')).messages === 0, 'the ack of the redelivery');
  });

  it("keeps a thrown error's message as the retry reason with BusExceptionFilter", async () => {
    await bus.publish(EXCHANGE, 'fail.now', { id: 6 });
    await until(() => deadWith('failing.dead', 'delivery limit 2 reached: boom') !== undefined, 'the dead letter');
  });

  it('lets a message wait, uncounted, while isUnavailable says a dependency is down', async () => {
    await bus.publish(EXCHANGE, 'fail.wait', { id: 9 });
    await until(() => recorder.of('waiting').length === 3, 'the third try', 10_000);
    // The queue's delivery limit is 2: counted retries would have dead-lettered it.
    expect(recorder.of('waiting').map((seen) => seen.attempt)).toEqual([1, 1, 1]);
    expect(deadLetters('failing.dead').filter((d) => (d.body as { id: number }).id === 9)).toEqual([]);
  });

  it('dead-letters a message no handler matches', async () => {
    await bus.publish(EXCHANGE, 'misc.thing', { id: 7 });
    await until(
      () => deadWith('unhandled.dead', 'no handler for unhandled:misc.thing') !== undefined,
      'the dead letter',
    );
  });

  it('answers bus.request from a @MessagePattern handler', async () => {
    const reply = await bus.request(EXCHANGE, 'rpc.add', { a: 2, b: 3 }, { timeoutMs: 2000 });
    expect(reply).toEqual({ sum: 5 });
    await until(async () => (await bus.queueStats('rpc')).messages === 0, 'the ack');
  });

  it('answers BusClientProxy.send and publishes BusClientProxy.emit', async () => {
    await client.connect();
    const reply = await lastValueFrom(client.send({ exchange: EXCHANGE, routingKey: 'rpc.add' }, { a: 4, b: 5 }));
    expect(reply).toEqual({ sum: 9 });
    await lastValueFrom(client.emit({ exchange: EXCHANGE, routingKey: 'order.created' }, { id: 8 }), {
      defaultValue: undefined,
    });
    await until(() => recorder.of('created').some((seen) => (seen.body as { id: number }).id === 8), 'the event');
    await client.close();
  });

  it('replies the DeadLetterError body and dead-letters the request', async () => {
    const reply = await bus.request(EXCHANGE, 'rpc.refuse', { a: 0, b: 0 }, { timeoutMs: 2000 });
    expect(reply).toEqual({ error: 'refused' });
    await until(() => deadWith('rpc.dead', 'refused') !== undefined, 'the dead letter');
  });

  it('errors the send observable when the request fails', async () => {
    await assert.rejects(
      lastValueFrom(client.send({ exchange: EXCHANGE, routingKey: 'nobody.home' }, {})),
      /no queue bound/,
    );
    // @ts-expect-error a malformed route still fails at run time
    await assert.rejects(lastValueFrom(client.send({ wrong: true }, {})), TypeError);
  });
});
