/** Rejection of `untilAborted` when the signal fired first. */
export class AbortedError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('aborted');
  }
}

/**
 * Settles like `work`, or rejects with `AbortedError` as soon as `signal` aborts. The work itself
 * is abandoned, not cancelled (a page.goto in flight keeps going until the host closes the
 * page); its late rejection is swallowed.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  void work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(new AbortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** A short reason for an activity message: puppeteer's timeouts and errors, without stacks. */
export function describeError(error: unknown, timeoutMs?: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError' && timeoutMs !== undefined) return `timed out after ${timeoutMs} ms`;
  return error.message.split('\n')[0] ?? error.name;
}
