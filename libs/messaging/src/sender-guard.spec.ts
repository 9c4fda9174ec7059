import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { BusDecorator } from './bus-decorator';
import type { Delivery, Handler, Outcome } from './bus.port';
import { InMemoryBus } from './in-memory';
import { SenderGuardBus } from './sender-guard';
import { DROVER_TOPOLOGY, Queues } from './topology';

/** Keeps the handler a consumer subscribed with, to hand it deliveries with any sender. */
class CapturingBus extends BusDecorator {
  readonly handlers = new Map<string, Handler>();
  override subscribe(queue: string, handler: Handler) {
    this.handlers.set(queue, handler);
    return Promise.resolve({ cancel: () => Promise.resolve() });
  }
}

const users = new Map([
  ['u-gateway', 'gateway'],
  ['u-scheduler', 'scheduler'],
  ['u-session', 'session-agent'],
  ['u-engine', 'engine'],
] as const);

async function deliver(queue: string, delivery: Partial<Delivery>) {
  const inner = new CapturingBus(new InMemoryBus(DROVER_TOPOLOGY));
  const guard = new SenderGuardBus(inner, users);
  const seen: Delivery[] = [];
  await guard.subscribe(queue, async (d) => void seen.push(d));
  const replies: unknown[] = [];
  const handler = inner.handlers.get(queue);
  assert.ok(handler);
  const outcome = (await handler({
    body: {},
    exchange: 'x',
    routingKey: 'agent.start',
    messageId: 'm-1',
    headers: {},
    attempt: 1,
    reply: async (body) => void replies.push(body),
    ...delivery,
  })) as Outcome | undefined;
  await inner.close();
  return { outcome, seen, replies };
}

describe('SenderGuardBus', () => {
  it('hands an allowed sender its role', async () => {
    const { outcome, seen } = await deliver(Queues.engineCommands, { sender: 'u-gateway' });
    expect(outcome).toBe(undefined);
    expect(seen.map((d) => d.senderRole)).toEqual(['gateway']);
  });

  it('dead-letters a wrong, unknown or missing sender with the reason, answering a waiting requester', async () => {
    const cases = [
      [
        { sender: 'u-session' },
        'sender u-session (session-agent) may not send agent.start to engine.commands: only gateway, scheduler, bootstrap, operator may',
      ],
      [
        { sender: 'mallory' },
        'sender mallory (no role in DROVER_BUS_USERS) may not send agent.start to engine.commands: only gateway, scheduler, bootstrap, operator may',
      ],
      [
        {},
        'a message without user_id may not send agent.start to engine.commands: only gateway, scheduler, bootstrap, operator may',
      ],
      [
        { sender: 'u-gateway', routingKey: 'agent.dequeue' },
        'sender u-gateway (gateway) may not send agent.dequeue to engine.commands: only scheduler may',
      ],
    ] as const;
    for (const [delivery, reason] of cases) {
      const { outcome, seen, replies } = await deliver(Queues.engineCommands, delivery);
      expect(outcome).toEqual({ action: 'dead-letter', reason });
      expect(seen).toEqual([]);
      expect(replies).toEqual([{ ok: false, error: { code: 'forbidden_sender', message: reason } }]);
    }
  });

  it("keeps a session agent's own queue for the engine's dispatches", async () => {
    expect((await deliver('session-agent.sa-1', { sender: 'u-engine', routingKey: 'sa-1' })).seen.length).toBe(1);
    const forged = await deliver('session-agent.sa-1', { sender: 'u-session', routingKey: 'sa-1' });
    expect(forged.outcome?.action).toBe('dead-letter');
  });

  it('only adds the role on a queue it has no rule for', async () => {
    const { outcome, seen } = await deliver('test.queue', {});
    expect(outcome).toBe(undefined);
    expect(seen.length).toBe(1);
  });
});
