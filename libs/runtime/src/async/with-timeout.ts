// In @drover/runtime because libs/browser, libs/behaviors, libs/platform and the services already depend on it, and it is I/O-free.

/** Settles like `promise`, or rejects once `ms` have passed (`<what> timed out after <ms> ms`); the work is not cancelled. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
