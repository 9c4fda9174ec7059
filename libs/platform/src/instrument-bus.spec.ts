import { describe, expect, it } from '@jest/globals';
import { Exchanges } from '@drover/contracts';
import { deadLetter, DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { eventually } from '@drover/testing';
import { InstrumentedBus } from './instrument-bus';
import { DroverMetrics } from './metrics';

/** `drover_bus_deliveries_total` by outcome for one queue. */
async function deliveries(metrics: DroverMetrics, queue: string): Promise<Record<string, number>> {
  const { values } = await metrics.deliveries.get();
  return Object.fromEntries(
    values.filter((value) => value.labels.queue === queue).map((value) => [String(value.labels.outcome), value.value]),
  );
}

describe('InstrumentedBus', () => {
  it('starts every outcome series of a consumed queue at 0', async () => {
    const metrics = new DroverMetrics('test');
    const bus = new InstrumentedBus(new InMemoryBus(DROVER_TOPOLOGY), metrics);
    await bus.declareQueue({ name: 'work', bindings: [{ exchange: Exchanges.dispatch, pattern: 'work' }] });
    await bus.subscribe('work', async () => undefined);
    expect(await deliveries(metrics, 'work')).toEqual({ ack: 0, retry: 0, 'dead-letter': 0 });
    await bus.close();
  });

  it('counts settlements, a retry past the delivery limit as a dead letter, and still tells the caller', async () => {
    const metrics = new DroverMetrics('test');
    const bus = new InstrumentedBus(new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] }), metrics);
    await bus.declareQueue({
      name: 'work',
      bindings: [{ exchange: Exchanges.events, pattern: 'work.#' }],
      deliveryLimit: 3,
    });
    const seen: string[] = [];
    await bus.subscribe(
      'work',
      async (delivery) => {
        const { kind } = delivery.body as { kind: string };
        if (kind === 'poison') return deadLetter('poison');
        if (kind === 'flaky') throw new Error('flaky');
        return undefined;
      },
      { onSettled: (settlement) => seen.push(settlement) },
    );
    for (const kind of ['fine', 'fine', 'poison', 'flaky'])
      await bus.publish(Exchanges.events, `work.${kind}`, { kind });
    // fine, fine, poison, then flaky three times: two retries and a dead letter at the limit.
    await eventually('six settlements', async () => (seen.length === 6 ? true : undefined), 5_000);
    expect(await deliveries(metrics, 'work')).toEqual({ ack: 2, retry: 2, 'dead-letter': 2 });
    expect([...seen].sort()).toEqual(['ack', 'ack', 'dead-letter', 'dead-letter', 'retry', 'retry']);
    await bus.close();
  });
});
