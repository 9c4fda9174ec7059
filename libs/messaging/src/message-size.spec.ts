import { describe, expect, it } from '@jest/globals';
import { Exchanges } from '@drover/contracts';
import { MessageTooLargeError } from './bus.port';
import { MAX_MESSAGE_BYTES } from './delivery-policy';
import { InMemoryBus } from './in-memory';
import { DROVER_TOPOLOGY, Queues } from './topology';

describe('message size (in-memory bus)', () => {
  it('refuses a body over MAX_MESSAGE_BYTES with an error naming it, and carries the next one', async () => {
    const bus = new InMemoryBus(DROVER_TOPOLOGY);
    try {
      const huge = { text: 'x'.repeat(MAX_MESSAGE_BYTES) };
      const refused = bus.publish(Exchanges.commands, 'agent.start', huge);
      await expect(refused).rejects.toThrow(MessageTooLargeError);
      await expect(refused).rejects.toThrow(
        /drover\.commands\/agent\.start is \d+ bytes, more than the bus carries \(1048576\)/,
      );
      await expect(bus.request(Exchanges.persistence, 'query', huge, { timeoutMs: 100 })).rejects.toThrow(
        MessageTooLargeError,
      );
      expect((await bus.queueStats(Queues.engineCommands)).messages).toBe(0);
      await bus.publish(Exchanges.commands, 'agent.start', { text: 'x'.repeat(MAX_MESSAGE_BYTES - 100) });
      expect((await bus.queueStats(Queues.engineCommands)).messages).toBe(1);
    } finally {
      await bus.close();
    }
  });
});
