import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** AES-256-GCM: an authenticated cipher, so a tampered or misaddressed value never opens. */
const CIPHER = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
/** `sealed.v1.<key id>.<iv>.<ciphertext>.<tag>`, each part base64url. */
const SEALED = /^sealed\.v1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]+)$/;

/** Why a sealed value cannot be opened here; its message never contains the value. */
export class SealedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedValueError';
  }
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && SEALED.test(value);
}

/**
 * Drover's secrets key ring: seals values where they enter (the gateway, the engine) and opens
 * them where they are used (the session agent running the agent). The first key seals; every
 * key opens, so a key can be rotated by putting the new one first and dropping the old one once
 * nothing sealed with it is left. The keys are never logged nor serialised.
 *
 * Each value is bound to a context (the agent id and what it is), authenticated as additional
 * data: a value sealed for one agent does not open for another, nor as another kind of secret.
 */
export class SecretBox {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: string;

  private constructor(keys: Map<string, Buffer>, current: string) {
    this.keys = keys;
    this.current = current;
  }

  /**
   * Parses a key ring: one key per line, `<key id>:<base64 of 32 random bytes>`; blank lines and
   * `#` comments are ignored. Errors name the line, never the key.
   */
  static parse(text: string, source = 'the secrets key'): SecretBox {
    const keys = new Map<string, Buffer>();
    let current: string | undefined;
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const at = `${source}, line ${index + 1}`;
      const separator = line.indexOf(':');
      const id = line.slice(0, separator);
      if (separator < 0 || !KEY_ID.test(id)) throw new Error(`${at}: expected <key id>:<base64 key>`);
      const key = Buffer.from(line.slice(separator + 1), 'base64');
      if (key.length !== KEY_BYTES) throw new Error(`${at}: key ${id} is not ${KEY_BYTES} bytes of base64`);
      if (keys.has(id)) throw new Error(`${at}: key id ${id} appears twice`);
      keys.set(id, key);
      current ??= id;
    });
    if (!current) throw new Error(`${source} holds no key`);
    return new SecretBox(keys, current);
  }

  /** A fresh key ring text with one key (what the standalone writes on first start). */
  static generate(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
    return `# Drover secrets key ring: <key id>:<base64 key>; the first key seals, every key opens.\n${id}:${randomBytes(KEY_BYTES).toString('base64')}\n`;
  }

  /** A key ring with one new key that lives in memory only (tests, benchmarks). */
  static fresh(): SecretBox {
    return SecretBox.parse(SecretBox.generate());
  }

  /**
   * Reads the key ring at `path`, writing a fresh one (mode 0600, directory 0700) when there is
   * none: the embedded mode's way to have a key without asking for one.
   */
  static loadOrCreate(path: string): { box: SecretBox; created: boolean } {
    const created = !existsSync(path);
    if (created) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, SecretBox.generate(), { mode: 0o600, flag: 'wx' });
    }
    chmodSync(path, 0o600);
    return { box: SecretBox.parse(readFileSync(path, 'utf8'), path), created };
  }

  /** The id of the key that seals. */
  get keyId(): string {
    return this.current;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, this.keys.get(this.current)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['sealed', 'v1', this.current, b64(iv), b64(ciphertext), b64(cipher.getAuthTag())].join('.');
  }

  /** The plaintext of a value sealed for `context`; throws `SealedValueError` otherwise. */
  open(sealed: string, context: string): string {
    const match = SEALED.exec(sealed);
    if (!match) throw new SealedValueError('not a sealed value');
    const [, id, iv, ciphertext, tag] = match as unknown as [string, string, string, string, string];
    const key = this.keys.get(id);
    if (!key) throw new SealedValueError(`sealed with key ${id}, which this key ring does not hold`);
    try {
      const decipher = createDecipheriv(CIPHER, key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SealedValueError(`sealed value does not open with key ${id} for ${context}`);
    }
  }

  /** Never prints the keys, whatever logs or inspects the box. */
  toJSON(): string {
    return `SecretBox(${this.current})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toJSON();
  }
}

function b64(buffer: Buffer): string {
  return buffer.toString('base64url');
}
