import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { LabelSelectors } from './actions.schema';
import { AgentCommand } from './commands.schema';
import { FilterSchema, UpdateSchema } from './filter.schema';
import { redactConfig, redactCredentials, redactProxyUrl, redactUrl, urlSecrets } from './redact';

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

  it('refuses prototype segments in filters and in every part of an update, naming the path', () => {
    expect(FilterSchema.safeParse({ field: 'constructor.name', op: 'eq', value: 'Object' }).success).toBe(false);
    for (const update of [
      { set: { '__proto__.isAdmin': true } },
      { inc: { 'a.prototype.n': 1 } },
      { unset: ['constructor'] },
    ]) {
      const parsed = UpdateSchema.safeParse(update);
      expect(parsed.success).toBe(false);
      expect(parsed.success ? '' : JSON.stringify(parsed.error.issues)).toMatch(/__proto__, constructor or prototype/);
    }
    expect(UpdateSchema.safeParse({ set: { 'profile.name': 'x' }, inc: { visits: 1 } }).success).toBe(true);
  });
});

describe('redaction', () => {
  it('hides user and password of proxy URLs', () => {
    expect(redactProxyUrl('http://bob:s3cret@proxy.example:8080')).toBe('http://***:***@proxy.example:8080');
    expect(redactProxyUrl('socks5://u:p%40ss@10.0.0.1:1080')).toBe('socks5://***:***@10.0.0.1:1080');
    expect(redactProxyUrl('http://proxy.example:8080')).toBe('http://proxy.example:8080');
    expect(!redactProxyUrl('not a url user:pw@x').includes('pw')).toBeTruthy();
  });

  it('scrubs URLs and known secrets out of free text', () => {
    const text = 'failed via http://bob:s3cret@h:1 (password s3cret, encoded p%40ss)';
    const out = redactCredentials(text, urlSecrets('http://bob:s3cret@h:1').concat(['p@ss']));
    assert.ok(!out.includes('s3cret') && !out.includes('p%40ss') && !out.includes('bob'), out);
  });

  it('hides the user name too: views show scheme, host and port only', () => {
    expect(redactProxyUrl('http://alice:hunter2@proxy.local:3128')).toBe('http://***:***@proxy.local:3128');
    expect(redactProxyUrl('socks5://proxy.local:1080')).toBe('socks5://proxy.local:1080');
  });

  it('hides secret-looking config values at any depth', () => {
    const redacted = JSON.stringify(
      redactConfig({ url: 'u', login: { user: 'bob', password: 'pw', apiKey: 'k' }, list: [{ token: 't' }] }),
    );
    for (const secret of ['"pw"', '"k"', '"t"']) expect(!redacted.includes(secret)).toBeTruthy();
    expect(redacted.includes('bob')).toBeTruthy();
  });

  it('shows URLs without their credentials nor the values of secret-looking query parameters', () => {
    expect(redactUrl('https://bob:pw@site.test/feed?token=abc&page=2&sig=xyz')).toBe(
      'https://***:***@site.test/feed?token=***&page=2&sig=***',
    );
    expect(redactUrl('https://site.test/feed?page=2')).toBe('https://site.test/feed?page=2');
    expect(redactConfig({ url: 'http://127.0.0.1:9/?api_key=k1&q=ok' })).toEqual({
      url: 'http://127.0.0.1:9/?api_key=***&q=ok',
    });
    expect(redactUrl('not a url, bob:pw@host')).toBe('not a url, ***:***@host');
  });
});

describe('label selectors', () => {
  it('read key=value once or repeated as labels (AND), and name what is wrong', () => {
    expect(LabelSelectors.parse('team=growth')).toEqual({ team: 'growth' });
    expect(LabelSelectors.parse(['team=growth', 'app-kubernetes-io/tier=web'])).toEqual({
      team: 'growth',
      'app-kubernetes-io/tier': 'web',
    });
    expect(LabelSelectors.parse('empty=')).toEqual({ empty: '' });
    expect(LabelSelectors.safeParse('no-equals').success).toBe(false);
    expect(LabelSelectors.safeParse('example.com/team=a').success).toBe(false);
    expect(LabelSelectors.safeParse('team=a b').success).toBe(false);
    expect(LabelSelectors.safeParse(['team=a', 'team=b']).success).toBe(false);
  });
});
