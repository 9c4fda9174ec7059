import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { validateProxyUrl } from './local-proxy';

describe('proxy URL validation', () => {
  it('accepts http, https and socks proxies only', () => {
    for (const ok of ['http://u:p@h:1', 'https://h:443', 'socks5://u:p@h:1080']) validateProxyUrl(ok);
    assert.throws(
      () => validateProxyUrl('ftp://u:secret@h:21'),
      (error: Error) => !error.message.includes('secret'),
    );
    assert.throws(() => validateProxyUrl('nonsense'));
  });
});
