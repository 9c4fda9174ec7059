import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@drover/runtime';
import { apiBind, isLoopback } from './api-bind';

const KEYS = ['a-key-of-at-least-16-chars'];

describe('apiBind', () => {
  it('listens on 127.0.0.1 without keys when HOST is unset, and says the API is unauthenticated', () => {
    const bind = apiBind({ DROVER_ALLOW_OPEN_API: false });
    expect(bind.host).toBe('127.0.0.1');
    expect(bind.warning).toMatch(/no DROVER_API_KEYS.*127\.0\.0\.1 only/);
  });

  it('listens on every interface with keys when HOST is unset, without a warning', () => {
    expect(apiBind({ DROVER_API_KEYS: KEYS, DROVER_ALLOW_OPEN_API: false })).toEqual({ host: '0.0.0.0' });
    expect(apiBind({ HOST: '10.0.0.5', DROVER_API_KEYS: KEYS, DROVER_ALLOW_OPEN_API: false })).toEqual({
      host: '10.0.0.5',
    });
  });

  it('refuses a non-loopback bind without keys, naming the way out', () => {
    for (const HOST of ['0.0.0.0', '::', '192.168.1.10', 'example.org']) {
      expect(() => apiBind({ HOST, DROVER_ALLOW_OPEN_API: false })).toThrow(ConfigError);
      expect(() => apiBind({ HOST, DROVER_API_KEYS: [], DROVER_ALLOW_OPEN_API: false })).toThrow(
        /DROVER_API_KEYS.*DROVER_ALLOW_OPEN_API=true/,
      );
    }
  });

  it('allows a keyless public bind with DROVER_ALLOW_OPEN_API=true, with a warning', () => {
    const bind = apiBind({ HOST: '0.0.0.0', DROVER_ALLOW_OPEN_API: true });
    expect(bind.host).toBe('0.0.0.0');
    expect(bind.warning).toMatch(/unauthenticated/);
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) {
      expect(`${host} ${isLoopback(host)}`).toBe(`${host} true`);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'localhost.example.org', '127.0.0.1.nip.io']) {
      expect(`${host} ${isLoopback(host)}`).toBe(`${host} false`);
    }
  });
});
