/** A short reason for an activity message: puppeteer's timeouts and errors, without stacks. */
export function describeError(error: unknown, timeoutMs?: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError' && timeoutMs !== undefined) return `timed out after ${timeoutMs} ms`;
  return error.message.split('\n')[0] ?? error.name;
}
