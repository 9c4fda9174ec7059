/**
 * Exit codes a script can branch on. They are part of the CLI's contract (docs/cli.md): a
 * script tells "the API said no" (1) from "I typed it wrong" (2), "nothing answered" (3) and
 * "no such thing" (4) without parsing text.
 */
export const ExitCode = {
  ok: 0,
  /** The gateway or the broker answered with an error (4xx other than 404, 5xx, a refused publish). */
  apiError: 1,
  /** Bad flags or arguments, invalid JSON, a command that fails the contracts' validation. */
  usage: 2,
  /** The gateway or the broker could not be reached (refused, DNS, timeout, dropped). */
  unreachable: 3,
  /** The gateway answered 404. */
  notFound: 4,
  /** Ctrl-C (SIGINT) stopped a command that follows a stream. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The `{ error: { code, message, details? } }` body every gateway error has. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/**
 * An error that ends the command with `exitCode`. `body` is what `--json` prints on stdout (the
 * API's own error body when the gateway answered, else one in the same shape).
 */
export class CliError extends Error {
  readonly body: ErrorBody;
  /** The gateway's `X-Request-Id` of the request that failed, when it answered one. */
  requestId?: string;

  constructor(
    readonly exitCode: ExitCode,
    code: string,
    message: string,
    body?: ErrorBody,
  ) {
    super(message);
    this.name = 'CliError';
    this.body = body ?? { error: { code, message } };
  }

  get code(): string {
    return this.body.error.code;
  }

  static usage(message: string, details?: unknown): CliError {
    return new CliError(ExitCode.usage, 'usage', message, {
      error: { code: 'usage', message, ...(details === undefined ? {} : { details }) },
    });
  }

  static unreachable(what: string, cause: unknown): CliError {
    return new CliError(ExitCode.unreachable, 'unreachable', `cannot reach ${what}: ${describeCause(cause)}`);
  }
}

/** The innermost useful reason of a network error (`ECONNREFUSED 127.0.0.1:9`), never a stack. */
export function describeCause(error: unknown): string {
  let current: unknown = error;
  let text = '';
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; name?: unknown };
    if (e.name === 'TimeoutError') return 'timed out';
    if (typeof e.message === 'string' && e.message) {
      text = typeof e.code === 'string' && !e.message.includes(e.code) ? `${e.code} ${e.message}` : e.message;
    }
    current = e.cause;
  }
  return text || String(error);
}
