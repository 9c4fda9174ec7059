import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestMicroservice } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Exchanges } from '@drover/contracts';
import { deadLetter, DROVER_TOPOLOGY, Queues, type Delivery, type Outcome } from '@drover/messaging';
import { BusExceptionFilter, BusServer } from '@drover/messaging/nest';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { SettlementWatch } from '@drover/testing';
import type { CommandsConsumer } from './consume-commands/commands.consumer';
import type { ReportsConsumer } from './consume-reports/reports.consumer';
import { EngineModule } from './engine.module';

/** A consumer that records what reaches it and answers with `outcome`. */
function fakeConsumer(outcome?: Outcome) {
  const seen: Delivery[] = [];
  return {
    seen,
    consumer: {
      onDelivery: async (delivery: Delivery) => {
        seen.push(delivery);
        return outcome;
      },
    },
  };
}

describe('EngineModule on the bus', () => {
  let bus: InMemoryBus;
  let watch: SettlementWatch;
  let app: INestMicroservice;
  const commands = fakeConsumer();
  const reports = fakeConsumer(deadLetter('not for this engine'));

  beforeAll(async () => {
    bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] });
    watch = new SettlementWatch(bus);
    const moduleRef = await Test.createTestingModule({
      imports: [
        EngineModule.forRoot({
          commands: commands.consumer as unknown as CommandsConsumer,
          reports: reports.consumer as unknown as ReportsConsumer,
        }),
      ],
    }).compile();
    app = moduleRef.createNestMicroservice({
      strategy: new BusServer(watch.bus, { queues: [{ name: Queues.engineCommands }, { name: Queues.engineReports }] }),
      logger: false,
    });
    app.useGlobalFilters(new BusExceptionFilter());
    await app.listen();
  });
  afterAll(async () => {
    await app.close();
    await bus.close();
  });

  it('hands commands to the commands consumer and acks what it accepts', async () => {
    await bus.publish(Exchanges.commands, 'agent.stop', { type: 'agent.stop' }, { messageId: 'c-1' });
    await watch.settled(Queues.engineCommands, 'c-1');
    expect(commands.seen.map((d) => [d.messageId, d.routingKey])).toEqual([['c-1', 'agent.stop']]);
    expect(reports.seen).toEqual([]);
    expect(watch.settlements(Queues.engineCommands)).toEqual(['ack']);
  });

  it('hands reports to the reports consumer and settles with the outcome it returns', async () => {
    await bus.publish(Exchanges.reports, 'session.started', { type: 'session.started' }, { messageId: 'r-1' });
    await watch.settled(Queues.engineReports, 'r-1');
    expect(reports.seen.map((d) => d.messageId)).toEqual(['r-1']);
    expect(commands.seen.length).toBe(1);
    expect(watch.settlements(Queues.engineReports)).toEqual(['dead-letter']);
  });
});
