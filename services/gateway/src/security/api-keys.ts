import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Who sent a request: a known key (by its digest, never the key itself), or why not. */
export type Authentication = { ok: true; keyId: string } | { ok: false; reason: 'missing' | 'invalid' };

/** SHA-256 of a key: fixed-length, so comparing digests never leaks the key's length. */
export function digestKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * The key a request presents: `Authorization: Bearer <key>` first, else `X-API-Key: <key>`.
 * An `Authorization` header with another scheme counts as no key (it is not ours to judge).
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
    if (match?.[1]) return match[1];
  }
  const header = headers['x-api-key'];
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  return value ? value : undefined;
}

/**
 * The configured API keys, kept only as SHA-256 digests. Checks compare the digest of the
 * presented key with every known digest using `timingSafeEqual`, without stopping at a match,
 * so neither the key's length nor its position in the list shows in the timing.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[] = []) {
    keys.forEach((key, index) => {
      if (typeof key !== 'string' || key.trim() === '' || key !== key.trim() || /\s/.test(key)) {
        // The message names the position only: keys must never reach logs or errors.
        throw new RangeError(`security.apiKeys[${index}] must be a non-empty string without whitespace`);
      }
    });
    const unique = new Map(keys.map((key) => [digestKey(key).toString('hex'), digestKey(key)]));
    this.digests = [...unique.values()];
  }

  /** False when no keys are configured: the API is then open. */
  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The hex digest of the matching configured key, or undefined. */
  verify(presented: string): string | undefined {
    const digest = digestKey(presented);
    let match: Buffer | undefined;
    for (const known of this.digests) {
      if (timingSafeEqual(digest, known)) match = known;
    }
    return match?.toString('hex');
  }

  authenticate(headers: IncomingHttpHeaders): Authentication {
    const key = presentedKey(headers);
    if (key === undefined) return { ok: false, reason: 'missing' };
    const keyId = this.verify(key);
    return keyId ? { ok: true, keyId } : { ok: false, reason: 'invalid' };
  }
}
