import type { z } from 'zod';

/** One invalid field: its dot path and zod's message. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** Issues named beyond this are summarised, so a reason stays short enough for a header or a log line. */
const MAX_DESCRIBED = 10;

/** zod issues as `{field, message}`, paths prefixed (e.g. `config.intervalMs`); the root is named `root`. */
export function fieldIssues(error: z.ZodError, prefix: readonly string[] = [], root = '(root)'): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: [...prefix, ...issue.path].join('.') || root,
    message: issue.message,
  }));
}

/** `field: message; field: message` (by default the first ten, then a count of the rest). */
export function describeIssues(
  issues: readonly FieldIssue[],
  { separator = '; ', limit = MAX_DESCRIBED }: { separator?: string; limit?: number } = {},
): string {
  const named = issues.slice(0, limit).map((issue) => `${issue.field}: ${issue.message}`);
  const rest = issues.length - named.length;
  return [...named, ...(rest > 0 ? [`and ${rest} more`] : [])].join(separator);
}

/** `describeIssues` of a zod error. */
export function describeZodError(error: z.ZodError, prefix: readonly string[] = []): string {
  return describeIssues(fieldIssues(error, prefix));
}
