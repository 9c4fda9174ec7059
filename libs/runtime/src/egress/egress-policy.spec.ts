import { describe, expect, it } from '@jest/globals';
import { parseEgressRule } from '@drover/contracts';
import { classifyAddress, EgressPolicy, withinCeiling } from './egress-policy';

const fixedDns = (answers: Record<string, string[]>) => ({
  resolve: async (host: string) => {
    const addresses = answers[host];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  },
});

const rule = (text: string) => {
  const parsed = parseEgressRule(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
};

describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.10.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.1.2.3', 'private'],
  ])('%s is %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });

  it.each(['93.184.215.14', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '11.0.0.1'])(
    '%s is public',
    (address) => {
      expect(classifyAddress(address)).toBeUndefined();
    },
  );
});

describe('egress policy', () => {
  const none = EgressPolicy.fromRules(
    [],
    fixedDns({ localhost: ['127.0.0.1', '::1'], 'site.test': ['93.184.215.14'] }),
  );

  it('refuses the default classes and says why, before any connection', async () => {
    expect(await none.check('169.254.169.254', 80)).toEqual({
      allowed: false,
      reason: '169.254.169.254 is link-local (metadata)',
    });
    expect(await none.check('10.0.0.1', 80)).toEqual({ allowed: false, reason: '10.0.0.1 is private' });
    expect(await none.check('[::ffff:127.0.0.1]', 80)).toEqual({
      allowed: false,
      reason: '::ffff:127.0.0.1 (IPv4-mapped 127.0.0.1) is loopback',
    });
    expect(await none.check('::ffff:a9fe:a9fe', 80)).toEqual({
      allowed: false,
      reason: '::ffff:a9fe:a9fe (IPv4-mapped 169.254.169.254) is link-local (metadata)',
    });
    expect(await none.check('fd00:ec2::254', 80)).toEqual({
      allowed: false,
      reason: 'fd00:ec2::254 is private (metadata)',
    });
  });

  it('refuses a host name that resolves to a forbidden address (localhost is loopback)', async () => {
    expect(await none.check('localhost', 8080)).toEqual({
      allowed: false,
      reason: 'localhost resolves to 127.0.0.1, which is loopback',
    });
  });

  it('resolves localhost with the system resolver and refuses it', async () => {
    const system = EgressPolicy.fromRules([]);
    const decision = await system.check('localhost', 80);
    expect(decision.allowed).toBe(false);
    expect(!decision.allowed && decision.reason).toMatch(
      /^localhost resolves to (127\.0\.0\.1|::1), which is loopback$/,
    );
  });

  it('allows public addresses and hands back the addresses it checked', async () => {
    expect(await none.check('site.test', 443)).toEqual({
      allowed: true,
      addresses: [{ address: '93.184.215.14', family: 4 }],
    });
  });

  it('lifts a class, a range, an address or a host, with or without a port', async () => {
    const policy = EgressPolicy.fromRules(
      ['loopback', '10.1.0.0/16', '[fe80::1]:8080', 'intranet.test:443', '*.corp.test'],
      fixedDns({ 'intranet.test': ['10.9.9.9'], 'a.corp.test': ['192.168.0.7'], 'corp.test': ['192.168.0.8'] }),
    );
    expect((await policy.check('127.0.0.1', 1)).allowed).toBe(true);
    expect((await policy.check('::1', 1)).allowed).toBe(true);
    expect((await policy.check('10.1.200.3', 80)).allowed).toBe(true);
    expect((await policy.check('10.2.0.1', 80)).allowed).toBe(false);
    expect((await policy.check('fe80::1', 8080)).allowed).toBe(true);
    expect((await policy.check('fe80::1', 80)).allowed).toBe(false);
    expect((await policy.check('intranet.test', 443)).allowed).toBe(true);
    expect((await policy.check('intranet.test', 80)).allowed).toBe(false);
    expect((await policy.check('a.corp.test', 80)).allowed).toBe(true);
    expect((await policy.check('corp.test', 80)).allowed).toBe(false);
  });

  it('lifts the metadata address only by its own class or its exact address', async () => {
    const wide = EgressPolicy.fromRules(['link-local', '169.254.0.0/16', 'private']);
    expect(await wide.check('169.254.169.254', 80)).toEqual({
      allowed: false,
      reason: '169.254.169.254 is link-local (metadata)',
    });
    expect((await wide.check('169.254.1.1', 80)).allowed).toBe(true);
    expect((await EgressPolicy.fromRules(['metadata']).check('169.254.169.254', 80)).allowed).toBe(true);
    expect((await EgressPolicy.fromRules(['169.254.169.254']).check('169.254.169.254', 80)).allowed).toBe(true);
  });

  it('refuses non-network URL schemes', async () => {
    const loopback = EgressPolicy.fromRules(['loopback']);
    for (const url of ['file:///etc/passwd', 'chrome://settings', 'data:text/html,hi', 'javascript:alert(1)']) {
      const decision = await loopback.checkUrl(url);
      expect(decision.allowed).toBe(false);
      expect(!decision.allowed && decision.reason).toMatch(/^[a-z]+: URLs are not allowed$/);
    }
    expect((await loopback.checkUrl('http://127.0.0.1:8080/live')).allowed).toBe(true);
  });

  it('rejects a rule that does not parse, naming it', () => {
    expect(() => EgressPolicy.fromRules(['10.0.0.0/33'])).toThrow(/10\.0\.0\.0\/33/);
    expect(() => EgressPolicy.fromRules(['host:port'])).toThrow(/port/);
    expect(() => EgressPolicy.fromRules(['exa mple'])).toThrow(/not an address class/);
  });
});

describe('agent rules within the profile ceiling', () => {
  const ceiling = ['private', '192.0.2.0/24', '*.corp.test', 'api.test:443'].map(rule);

  it('accepts rules inside the ceiling', () => {
    for (const text of ['private', '10.0.0.0/8', '10.1.2.3', '192.0.2.7:80', 'a.corp.test', 'api.test:443']) {
      expect([text, withinCeiling(rule(text), ceiling)]).toEqual([text, true]);
    }
  });

  it('refuses rules beyond it: the metadata address, loopback, wider ranges, other hosts or ports', () => {
    for (const text of [
      'metadata',
      '169.254.169.254',
      'loopback',
      '0.0.0.0/0',
      '192.0.0.0/16',
      'api.test',
      'other.test',
    ]) {
      expect([text, withinCeiling(rule(text), ceiling)]).toEqual([text, false]);
    }
    expect(withinCeiling(rule('169.254.169.254'), [rule('link-local')])).toBe(false);
    expect(withinCeiling(rule('169.254.169.254'), [rule('169.254.0.0/16')])).toBe(false);
    expect(withinCeiling(rule('169.254.169.254'), [rule('metadata')])).toBe(true);
  });
});
