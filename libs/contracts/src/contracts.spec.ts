import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { AgentCommand } from './commands.schema';
import { FilterSchema } from './filter.schema';
import { redactConfig, redactUrl } from './redact';

describe('command envelope', () => {
  const start = {
    messageId: 'm-1',
    type: 'agent.start',
    agentId: 'a-1',
    payload: { behavior: 'http-monitor', config: { url: 'http://x/' } },
  };

  it('accepts the documented start and stop envelopes', () => {
    expect(AgentCommand.safeParse(start).success).toBe(true);
    expect(
      AgentCommand.safeParse({
        messageId: 'm-2',
        type: 'agent.stop',
        agentId: 'a-1',
        payload: {},
        occurredAt: '2026-01-01T00:00:00Z',
        correlationId: 'c',
      }).success,
    ).toBe(true);
  });

  it('refuses bad ids, unknown types, unknown fields and bad proxies', () => {
    const bad = [
      { ...start, agentId: 'has space' },
      { ...start, agentId: 'x'.repeat(65) },
      { ...start, messageId: '' },
      { ...start, messageId: 'm'.repeat(129) },
      { ...start, type: 'agent.explode' },
      { ...start, extra: 1 },
      { ...start, payload: { behavior: 'http-monitor', proxy: 'ftp://u:p@h:1' } },
      { ...start, occurredAt: 'yesterday' },
    ];
    for (const message of bad) assert.equal(AgentCommand.safeParse(message).success, false, JSON.stringify(message));
  });
});

describe('filter language', () => {
  it('accepts nested and/or/not and refuses unsafe field paths', () => {
    const ok = {
      and: [{ field: 'a.b', op: 'eq', value: 1 }, { not: { or: [{ field: 'c', op: 'exists', value: true }] } }],
    };
    expect(FilterSchema.safeParse(ok).success).toBe(true);
    expect(FilterSchema.safeParse({ field: "a'); drop table x; --", op: 'eq', value: 1 }).success).toBe(false);
    expect(FilterSchema.safeParse({ field: 'a', op: 'in', value: 'not-a-list' }).success).toBe(false);
  });
});

describe('redaction', () => {
  it('hides proxy passwords but keeps the user', () => {
    expect(redactUrl('http://alice:hunter2@proxy.local:3128')).toBe('http://alice:***@proxy.local:3128');
    expect(redactUrl('socks5://proxy.local:1080')).toBe('socks5://proxy.local:1080');
  });

  it('hides secret-looking config values at any depth', () => {
    const redacted = JSON.stringify(
      redactConfig({ url: 'u', login: { user: 'bob', password: 'pw', apiKey: 'k' }, list: [{ token: 't' }] }),
    );
    for (const secret of ['"pw"', '"k"', '"t"']) expect(!redacted.includes(secret)).toBeTruthy();
    expect(redacted.includes('bob')).toBeTruthy();
  });
});
