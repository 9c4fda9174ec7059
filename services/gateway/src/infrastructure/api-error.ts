import type { z } from 'zod';
import { describeIssues, fieldIssues, type FieldIssue } from '@drover/contracts';

export type { FieldIssue } from '@drover/contracts';

/**
 * An error the API answers as `{"error": {"code", "message", "details?"}}` with this status.
 * `cause` is what went wrong inside (a broker or store error naming hosts and URLs): it is
 * logged, never sent.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ApiError';
  }

  static invalid(issues: FieldIssue[]): ApiError {
    return new ApiError(400, 'invalid_request', `invalid request: ${describeIssues(issues)}`, issues);
  }
}

/** zod issues as `{field, message}` with dot paths from the body root (`config.intervalMs`). */
export function bodyIssues(error: z.ZodError, prefix: string[] = []): FieldIssue[] {
  return fieldIssues(error, prefix, '(body)');
}

/** Parses `value` or throws a 400 naming every bad field. */
export function parseOrThrow<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, value: unknown, prefix: string[] = []): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ApiError.invalid(bodyIssues(parsed.error, prefix));
  return parsed.data;
}

/** HTTP status for an engine rejection code. */
export function statusForRejection(code: string): number {
  switch (code) {
    case 'agent_not_found':
      return 404;
    case 'invalid_request':
    case 'invalid_config':
    case 'unknown_behavior':
      return 400;
    default:
      return 409;
  }
}
