import type { z } from 'zod';

/** `payload.behavior: Required; agentId: Invalid` — short enough for a dead-letter header. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`)
    .join('; ');
}
