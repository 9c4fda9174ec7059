// In @drover/runtime because behaviours and hosts both race work against a stop signal, and it is I/O-free.

/** Rejection of `untilAborted` when the signal fired first. */
export class AbortedError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('aborted');
  }
}

/**
 * Settles like `work`, or rejects with `AbortedError` as soon as `signal` aborts (also when the work
 * fails after the abort, typically because the stop closed its page). The work itself is abandoned,
 * not cancelled; its late rejection is swallowed.
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
        if (signal.aborted) reject(new AbortedError());
        else reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
