import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import type { Delivery } from './bus.port';
import { retryDelay } from './delivery-policy';
import { parseOrDeadLetter } from './parse-or-dead-letter';

const Ping = z.object({ type: z.literal('ping'), at: z.string() }).strict();
const delivery = (body: unknown): Delivery => ({
  body,
  exchange: 'x',
  routingKey: 'ping',
  messageId: 'm-1',
  headers: {},
  attempt: 1,
});

describe('parseOrDeadLetter', () => {
  it('hands back the parsed body', () => {
    const parsed = parseOrDeadLetter(delivery({ type: 'ping', at: 'now' }), Ping, 'ping');
    expect(parsed).toEqual({ ok: true, value: { type: 'ping', at: 'now' } });
  });

  it('dead-letters a body that fails its schema, naming what and why', () => {
    const parsed = parseOrDeadLetter(delivery({ type: 'ping' }), Ping, 'ping');
    if (parsed.ok) throw new Error('expected a dead letter');
    expect(parsed.reason).toBe('invalid ping: at: Required');
    expect(parsed.outcome).toEqual({ action: 'dead-letter', reason: 'invalid ping: at: Required' });
    expect(parsed.issues).toEqual([{ field: 'at', message: 'Required' }]);
  });
});

describe('delivery policy', () => {
  it('retries after the delay of the attempt, the last one repeating', () => {
    expect([1, 2, 3, 9].map((attempt) => retryDelay([10, 20, 30], attempt))).toEqual([10, 20, 30, 30]);
    expect(retryDelay([], 1)).toBe(1000);
  });
});
