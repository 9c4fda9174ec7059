/**
 * The console's API client: every call sends the key (`Authorization: Bearer`) the user entered
 * once, kept in `sessionStorage` (gone when the tab closes, never in a cookie, so no other site
 * can make the browser use it). A 401 forgets the key and sends the user back to the login form.
 */

const KEY_ITEM = 'drover.apiKey';

/** An answer that was not 2xx, with the API's `{ error: { code, message, details } }` body. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiFailure';
  }

  /** One line for the user: the message, and each field a 400 names. */
  describe(): string {
    const fields = this.details.map((d) => `${d.field}: ${d.message}`).join('; ');
    return `${this.status} ${this.code}: ${this.message}${fields && !this.message.includes(fields) ? ` (${fields})` : ''}`;
  }
}

type Listener = () => void;
const signedOut = new Set<Listener>();

export const session = {
  key(): string | undefined {
    return sessionStorage.getItem(KEY_ITEM) ?? undefined;
  },
  signIn(key: string): void {
    sessionStorage.setItem(KEY_ITEM, key);
  },
  /** Forgets the key; `reason` is shown on the login form. */
  signOut(reason?: string): void {
    sessionStorage.removeItem(KEY_ITEM);
    if (reason) sessionStorage.setItem(`${KEY_ITEM}.reason`, reason);
    for (const listener of signedOut) listener();
  },
  /** The reason of the last sign-out, once. */
  takeReason(): string | undefined {
    const reason = sessionStorage.getItem(`${KEY_ITEM}.reason`) ?? undefined;
    sessionStorage.removeItem(`${KEY_ITEM}.reason`);
    return reason;
  },
  onSignOut(listener: Listener): () => void {
    signedOut.add(listener);
    return () => signedOut.delete(listener);
  },
};

/** The headers of an authenticated call. */
export function authHeaders(key = session.key()): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

export interface CallOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /** Use this key instead of the stored one (the login form checks a key before keeping it). */
  key?: string;
  signal?: AbortSignal;
}

/** Turns a failed answer into an `ApiFailure`; a 401 also signs out. */
export async function failure(res: Response, usedStoredKey: boolean): Promise<ApiFailure> {
  let error: { code?: string; message?: string; details?: { field: string; message: string }[] } = {};
  try {
    error = ((await res.json()) as { error?: typeof error }).error ?? {};
  } catch {
    // not JSON (a proxy's page): the status says enough
  }
  const failed = new ApiFailure(
    res.status,
    error.code ?? 'error',
    error.message ?? res.statusText ?? 'request failed',
    Array.isArray(error.details) ? error.details : [],
  );
  if (res.status === 401 && usedStoredKey) session.signOut(`The API key was refused: ${failed.message} (401).`);
  return failed;
}

/** Calls the API and returns the parsed JSON body. */
export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(options.key ?? session.key()) };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
  });
  if (!res.ok) throw await failure(res, options.key === undefined);
  return (await res.json()) as T;
}

/** Fetches an image with the key and returns an object URL for an `<img>` (revoke it when done). */
export async function imageUrl(path: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(path, { headers: authHeaders(), signal });
  if (!res.ok) throw await failure(res, true);
  return URL.createObjectURL(await res.blob());
}

/** `?a=1&b=2` of the defined, non-empty values (arrays repeat the name). */
export function query(params: Record<string, string | number | undefined | (string | undefined)[]>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== '') search.append(name, String(one));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const describeError = (error: unknown): string =>
  error instanceof ApiFailure ? error.describe() : error instanceof Error ? error.message : String(error);
