import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { redactCredentials, redactProxyUrl, urlSecrets } from './redact';
import { validateProxyUrl } from './local-proxy';

describe('proxy credential redaction', () => {
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

  it('accepts http, https and socks proxies only', () => {
    for (const ok of ['http://u:p@h:1', 'https://h:443', 'socks5://u:p@h:1080']) validateProxyUrl(ok);
    assert.throws(
      () => validateProxyUrl('ftp://u:secret@h:21'),
      (error: Error) => !error.message.includes('secret'),
    );
    assert.throws(() => validateProxyUrl('nonsense'));
  });
});
