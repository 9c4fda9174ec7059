import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { retryLater, type Topology } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { SettlementWatch } from './settlements';

const TOPOLOGY: Topology = {
  exchanges: [{ name: 'x', type: 'topic' }],
  queues: [{ name: 'q', bindings: [{ exchange: 'x', pattern: '#' }], deliveryLimit: 3 }],
};

describe('SettlementWatch', () => {
  let inner: InMemoryBus;
  let watch: SettlementWatch;
  beforeEach(() => {
    inner = new InMemoryBus(TOPOLOGY, { retryDelaysMs: [5] });
    watch = new SettlementWatch(inner);
  });
  afterEach(async () => {
    await inner.close();
  });

  it('resolves only once the handler has returned and the bus has settled the delivery', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const trace: string[] = [];
    await watch.bus.subscribe('q', async (delivery) => {
      trace.push(`handling ${delivery.messageId}`);
      await held;
      trace.push(`handled ${delivery.messageId}`);
    });
    await watch.bus.publish('x', 'k', {}, { messageId: 'm-1' });
    const settled = watch.settled('q', 'm-1').then(() => trace.push('settled m-1'));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(trace).toEqual(['handling m-1']);
    release();
    await settled;
    expect(trace).toEqual(['handling m-1', 'handled m-1', 'settled m-1']);
    expect(watch.settlements('q')).toEqual(['ack']);
    // Already settled: resolves at once.
    await watch.settled('q', 'm-1');
  });

  it('passes settlements on to the subscriber’s own onSettled, retries included', async () => {
    const own: string[] = [];
    await watch.bus.subscribe('q', async (delivery) => (delivery.attempt === 1 ? retryLater('once') : undefined), {
      onSettled: (settlement) => own.push(settlement),
    });
    await watch.bus.publish('x', 'k', {}, { messageId: 'm-2' });
    await watch.settled('q', 'm-2');
    // The first settlement (the retry) is enough; wait for the redelivery's too.
    for (let i = 0; i < 100 && own.length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(own).toEqual(['retry', 'ack']);
    expect(watch.settlements('q')).toEqual(['retry', 'ack']);
  });

  it('rejects when the delivery is not settled in time', async () => {
    await expect(watch.settled('q', 'never', 20)).rejects.toThrow(/never on q not settled within 20 ms/);
  });
});
