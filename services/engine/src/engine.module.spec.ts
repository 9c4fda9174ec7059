import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestMicroservice } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Exchanges, type CommandReply } from '@drover/contracts';
import type { DomainMessage } from '@drover/domain';
import { DROVER_TOPOLOGY, Queues } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { BusExceptionFilter, BusServer } from '@drover/messaging/nest';
import { SecretBox, silentLogger, systemClock } from '@drover/runtime';
import { SettlementWatch } from '@drover/testing';
import { EngineModule } from './engine.module';
import type { ProcessMessageHandler } from './process-message/process-message.handler';

/** A handler that records the messages it is given and accepts each one. */
function fakeHandler() {
  const seen: DomainMessage[] = [];
  const handler = {
    handle: async (message: DomainMessage): Promise<CommandReply> => {
      seen.push(message);
      return {
        ok: true,
        commandId: message.messageId,
        agentId: message.agentId,
        outcome: 'accepted',
        view: { agentId: message.agentId, status: 'stopped', version: 1, attempts: 0 },
      };
    },
  };
  return { seen, handler: handler as unknown as ProcessMessageHandler };
}

describe('EngineModule on the bus', () => {
  let bus: InMemoryBus;
  let watch: SettlementWatch;
  let app: INestMicroservice;
  const { seen, handler } = fakeHandler();

  beforeAll(async () => {
    bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] });
    watch = new SettlementWatch(bus);
    const moduleRef = await Test.createTestingModule({
      imports: [
        EngineModule.forRoot({ handler, bus, clock: systemClock, logger: silentLogger(), secrets: SecretBox.fresh() }),
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

  it('hands a valid command to the handler and acks it', async () => {
    const command = { messageId: 'c-1', type: 'agent.stop', agentId: 'a-1', payload: {} };
    await bus.publish(Exchanges.commands, 'agent.stop', command, { messageId: 'c-1' });
    await watch.settled(Queues.engineCommands, 'c-1');
    expect(seen.map((m) => [m.messageId, m.type])).toEqual([['c-1', 'agent.stop']]);
    expect(watch.settlements(Queues.engineCommands)).toEqual(['ack']);
  });

  it('dead-letters a command that fails validation without calling the handler', async () => {
    await bus.publish(Exchanges.commands, 'agent.stop', { type: 'agent.stop' }, { messageId: 'c-2' });
    await watch.settled(Queues.engineCommands, 'c-2');
    expect(seen.map((m) => m.messageId)).toEqual(['c-1']);
    expect(watch.settlements(Queues.engineCommands)).toEqual(['ack', 'dead-letter']);
  });

  it('dead-letters a report that fails validation without calling the handler', async () => {
    await bus.publish(Exchanges.reports, 'session.started', { type: 'session.started' }, { messageId: 'r-1' });
    await watch.settled(Queues.engineReports, 'r-1');
    expect(seen.map((m) => m.messageId)).toEqual(['c-1']);
    expect(watch.settlements(Queues.engineReports)).toEqual(['dead-letter']);
  });
});
