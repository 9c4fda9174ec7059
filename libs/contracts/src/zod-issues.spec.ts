import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { describeIssues, describeZodError, fieldIssues } from './zod-issues';

const Body = z.object({ agentId: z.string(), config: z.object({ intervalMs: z.number() }) }).strict();
const errorOf = (value: unknown) => {
  const parsed = Body.safeParse(value);
  if (parsed.success) throw new Error('expected a failure');
  return parsed.error;
};

describe('zod issues', () => {
  it('names each bad field by its dot path, with a prefix and a name for the root', () => {
    expect(fieldIssues(errorOf({ agentId: 1, config: { intervalMs: 'x' } }), ['payload'])).toEqual([
      { field: 'payload.agentId', message: 'Expected string, received number' },
      { field: 'payload.config.intervalMs', message: 'Expected number, received string' },
    ]);
    expect(fieldIssues(errorOf('nope'), [], '(body)')[0]?.field).toBe('(body)');
  });

  it('describes issues in one line, the first ten and a count of the rest', () => {
    expect(describeZodError(errorOf({ agentId: 'a', config: {} }))).toBe('config.intervalMs: Required');
    const many = Array.from({ length: 12 }, (_, i) => ({ field: `f${i}`, message: 'bad' }));
    const described = describeIssues(many);
    expect(described.startsWith('f0: bad; f1: bad')).toBe(true);
    expect(described.endsWith('f9: bad; and 2 more')).toBe(true);
    expect(describeIssues(many.slice(0, 2), { separator: '\n' })).toBe('f0: bad\nf1: bad');
  });
});
