/*
 * The one redaction policy of Drover: a URL's userinfo (user name and password) is always hidden,
 * config values under secret-looking keys are replaced; used by logs, views and error messages alike.
 */

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|cookie|credential/i;

/** Query parameters whose values are credentials more often than not. */
const SECRET_PARAM =
  /^(token|access_token|id_token|auth|key|api[-_]?key|sig|signature|secret|pass(word)?|pwd|session|code)$/i;
const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Deep copy of a behaviour config with every secret-looking value replaced by `***`, and every
 * URL shown without its credentials (see `redactUrl`).
 */
export function redactConfig(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactConfig);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, SECRET_KEY.test(key) ? '***' : redactConfig(inner)]),
    );
  }
  if (typeof value === 'string' && URL_LIKE.test(value)) return redactUrl(value);
  return value;
}

/**
 * A URL as it may be shown: user name and password replaced, and the values of secret-looking
 * query parameters (`token`, `key`, `sig`, `password`...) too. Text that is not a URL is returned
 * with any `user:pass@` hidden. Never throws.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return redactCredentials(text);
  }
  let changed = false;
  if (url.username || url.password) {
    url.username = '***';
    url.password = '***';
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) {
      url.searchParams.set(name, '***');
      changed = true;
    }
  }
  return changed ? url.toString() : text;
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
