import { describe, expect, it } from '@jest/globals';
import { SealedValueError, SecretBox } from '@drover/runtime';
import { openStartSecrets, sealStartPayload, SECRET_MASK, type StartSecrets } from './sealed-start';

const box = SecretBox.fresh();
const PROXY = 'http://alice:S3cretPw@127.0.0.1:3128/';

describe('sealing the secrets of a start', () => {
  it('moves the proxy credentials and schema-marked fields into one sealed value', () => {
    const payload = {
      behavior: 'social-feed',
      config: { baseUrl: 'http://127.0.0.1:9/', username: 'alice', password: 'FeedPw!1' },
      proxy: PROXY,
    };
    const { payload: sealed, sealed: changed } = sealStartPayload(box, 'feed-1', payload);
    expect(changed).toBe(true);
    expect(sealed.proxy).toBe('http://***:***@127.0.0.1:3128/');
    expect(sealed.config).toEqual({ baseUrl: 'http://127.0.0.1:9/', username: 'alice', password: SECRET_MASK });
    const text = JSON.stringify(sealed);
    for (const secret of ['S3cretPw', 'alice:', 'FeedPw!1']) expect(text).not.toContain(secret);
    // The caller's payload is left as it was.
    expect(payload.config.password).toBe('FeedPw!1');

    const opened = openStartSecrets(box, 'feed-1', sealed);
    expect(opened).toEqual({ config: payload.config, proxy: PROXY });
  });

  it('seals the text of a secret scripted step, and only that one', () => {
    const steps = [
      { action: 'type', selector: '#user', text: 'alice' },
      { action: 'type', selector: '#password', text: 'StepPw', secret: true },
    ];
    const { payload } = sealStartPayload(box, 's-1', { behavior: 'scripted', config: { steps } });
    expect((payload.config as { steps: { text: string }[] }).steps.map((s) => s.text)).toEqual(['alice', SECRET_MASK]);
    const opened = openStartSecrets(box, 's-1', payload);
    expect(opened.config).toEqual({ steps });
  });

  it('leaves a start without secrets alone, and a sealed one as it is', () => {
    const plain = { behavior: 'http-monitor', config: { url: 'http://127.0.0.1:9/', intervalMs: 1000 } };
    expect(sealStartPayload(box, 'm-1', plain)).toEqual({ payload: plain, sealed: false });
    const once = sealStartPayload(box, 'm-1', { ...plain, proxy: PROXY }).payload;
    expect(sealStartPayload(box, 'm-1', once)).toEqual({ payload: once, sealed: false });
  });

  it('replaces a sealed value that is given in clear again, and keeps the others', () => {
    const first = sealStartPayload(box, 'f-1', {
      behavior: 'social-feed',
      config: { baseUrl: 'http://x/', username: 'u', password: 'old' },
      proxy: PROXY,
    }).payload;
    const again = sealStartPayload(box, 'f-1', { ...first, config: { ...first.config, password: 'new' } }).payload;
    const opened = openStartSecrets(box, 'f-1', again);
    expect(opened.config.password).toBe('new');
    expect(opened.proxy).toBe(PROXY);
  });

  it('seals a config that fails validation too (it may end in a dead-letter queue)', () => {
    const { payload } = sealStartPayload(box, 'f-2', {
      behavior: 'social-feed',
      config: { password: 'BadPw', likesPerRun: 'many' },
    });
    expect(JSON.stringify(payload)).not.toContain('BadPw');
  });

  it('refuses secrets sealed for another agent or with an unknown key', () => {
    const start: StartSecrets = { behavior: 'http-monitor', proxy: PROXY };
    const other = sealStartPayload(box, 'a-1', start).payload;
    expect(() => sealStartPayload(box, 'a-2', other)).toThrow(SealedValueError);
    expect(() =>
      openStartSecrets(SecretBox.parse(`other:${Buffer.alloc(32, 3).toString('base64')}`), 'a-1', {
        config: {},
        secrets: other.secrets as string,
      }),
    ).toThrow(/which this key ring does not hold/);
    expect(() => openStartSecrets(undefined, 'a-1', { config: {}, secrets: other.secrets as string })).toThrow(
      /no secrets key/,
    );
  });
});
