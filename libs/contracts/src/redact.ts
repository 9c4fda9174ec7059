/*
 * The one redaction policy of Drover: a URL's userinfo (user name and password) is always hidden,
 * config values under secret-looking keys are replaced; used by logs, views and error messages alike.
 */

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|cookie|credential/i;

/** Deep copy of a behaviour config with every secret-looking value replaced by `***`. */
export function redactConfig(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactConfig);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) ? '***' : redactConfig(inner)]),
    );
  }
  return value;
}

/** `scheme://user:pass@host` -> `scheme://***:***@host`; also hides any bare `user:pass@` left in free text. */
export function redactCredentials(text: string, secrets: readonly string[] = []): string {
  let out = text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***:***@')
    .replace(/(^|[\s(<"'=])[^\s:@/()<>"'=]+:[^\s@/]+@(?=[^\s@])/g, '$1***:***@');
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length === 0) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('***');
  }
  return out;
}

/** A proxy URL safe for logs: credentials replaced, everything else kept. Never throws. */
export function redactProxyUrl(proxy: string): string {
  try {
    const url = new URL(proxy);
    if (url.username || url.password) {
      url.username = '***';
      url.password = '***';
    }
    return url.toString().replace(/\/$/, '');
  } catch {
    return redactCredentials(proxy);
  }
}

/** The decoded username and password of a URL (for scrubbing them out of error messages). */
export function urlSecrets(proxy: string): string[] {
  try {
    const url = new URL(proxy);
    return [url.password, url.username].filter((s) => s.length > 0).map((s) => decodeURIComponent(s));
  } catch {
    return [];
  }
}
