import { afterEach, describe, expect, it } from '@jest/globals';
import { DROVER_TOPOLOGY, Queues } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { DroverMetrics, startOpsServer, type OpsServer } from '@drover/platform';
import { silentLogger } from '@drover/runtime';
import { gatewayReadiness } from './gateway-readiness';

const closing: (OpsServer | InMemoryBus)[] = [];
afterEach(async () => {
  for (const item of closing.splice(0)) await item.close();
});

async function readyOf(bus: InMemoryBus) {
  const ops = await startOpsServer({
    port: 0,
    host: '127.0.0.1',
    checks: gatewayReadiness(bus, { commandTimeoutMs: 100, queryTimeoutMs: 100 }),
    metrics: new DroverMetrics('gateway'),
    logger: silentLogger(),
  });
  closing.push(ops, bus);
  const res = await fetch(`${ops.url}/ready`);
  return { status: res.status, body: await res.json() };
}

describe("the gateway's /ready on the ops port", () => {
  it('is ready when the read side answers its health query through the bus', async () => {
    const bus = new InMemoryBus(DROVER_TOPOLOGY);
    await bus.subscribe(Queues.persistenceTasks, async (delivery) => {
      await delivery.reply?.({ ok: true, result: { status: 'ok' } });
    });
    expect(await readyOf(bus)).toEqual({ status: 200, body: { status: 'ok', checks: { bus: 'ok', store: 'ok' } } });
  });

  it('says the store is down when the read side does not answer', async () => {
    const ready = await readyOf(new InMemoryBus(DROVER_TOPOLOGY));
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ error: { code: 'not_ready', details: { bus: 'ok', store: 'down' } } });
  });
});
