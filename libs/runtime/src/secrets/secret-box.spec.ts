import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { isSealed, SealedValueError, SecretBox } from './secret-box';

const KEY_A = `a:${Buffer.alloc(32, 1).toString('base64')}`;
const KEY_B = `b:${Buffer.alloc(32, 2).toString('base64')}`;

describe('SecretBox', () => {
  it('opens what it sealed, for the same context only', () => {
    const box = SecretBox.parse(KEY_A);
    const sealed = box.seal('S3cretPw', 'agent:a-1:start');
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain('S3cretPw');
    expect(box.open(sealed, 'agent:a-1:start')).toBe('S3cretPw');
    expect(() => box.open(sealed, 'agent:a-2:start')).toThrow(SealedValueError);
    expect(() => box.open(sealed, 'agent:a-1:cookies')).toThrow(SealedValueError);
  });

  it('seals the same value differently each time', () => {
    const box = SecretBox.parse(KEY_A);
    expect(box.seal('x', 'c')).not.toBe(box.seal('x', 'c'));
  });

  it('refuses a tampered value', () => {
    const box = SecretBox.parse(KEY_A);
    const parts = box.seal('S3cretPw', 'c').split('.');
    const ciphertext = Buffer.from(parts[4]!, 'base64url');
    ciphertext[0]! ^= 1;
    parts[4] = ciphertext.toString('base64url');
    expect(() => box.open(parts.join('.'), 'c')).toThrow(/does not open with key a/);
  });

  it('rotates: the first key seals, the older ones still open, a retired one is named', () => {
    const old = SecretBox.parse(KEY_A);
    const sealedWithA = old.seal('v', 'c');
    const rotated = SecretBox.parse(`# new key first\n${KEY_B}\n${KEY_A}\n`);
    expect(rotated.keyId).toBe('b');
    expect(rotated.open(sealedWithA, 'c')).toBe('v');
    expect(rotated.seal('v', 'c')).toMatch(/^sealed\.v1\.b\./);
    const retired = SecretBox.parse(KEY_B);
    expect(() => retired.open(sealedWithA, 'c')).toThrow('sealed with key a, which this key ring does not hold');
  });

  it('names the bad line of a key ring, never the key', () => {
    expect(() => SecretBox.parse('a:c2hvcnQ=', 'key.txt')).toThrow('key.txt, line 1: key a is not 32 bytes of base64');
    expect(() => SecretBox.parse(`${KEY_A}\nno separator`, 'key.txt')).toThrow(
      'key.txt, line 2: expected <key id>:<base64 key>',
    );
    expect(() => SecretBox.parse(`${KEY_A}\n${KEY_A}`)).toThrow(/key id a appears twice/);
    expect(() => SecretBox.parse('# nothing\n')).toThrow('the secrets key holds no key');
  });

  it('never shows its keys when logged or inspected', () => {
    const box = SecretBox.parse(KEY_A);
    const key = KEY_A.slice(2);
    expect(JSON.stringify({ box })).not.toContain(key);
    expect(inspect(box)).not.toContain(key);
    expect(inspect(box)).toBe('SecretBox(a)');
  });

  it('creates a key ring readable by its owner only, then reads the same one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-keys-'));
    try {
      const path = join(dir, 'data', 'secrets.key');
      const first = SecretBox.loadOrCreate(path);
      expect(first.created).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'data')).mode & 0o777).toBe(0o700);
      const second = SecretBox.loadOrCreate(path);
      expect(second.created).toBe(false);
      expect(second.box.open(first.box.seal('v', 'c'), 'c')).toBe('v');
      expect(readFileSync(path, 'utf8')).toMatch(/^# Drover secrets key ring/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
