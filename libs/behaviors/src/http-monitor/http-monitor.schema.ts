import { z } from 'zod';

export const HttpMonitorConfig = z
  .object({
    url: z
      .string()
      .url()
      .refine((url) => /^https?:\/\//i.test(url), 'only http and https URLs can be monitored'),
    intervalMs: z.number().int().min(100).max(86_400_000),
    timeoutMs: z.number().int().min(10).max(300_000).optional(),
    /** When set, a check is ok only with this exact status; otherwise any status below 400. */
    expectStatus: z.number().int().min(100).max(599).optional(),
  })
  .strict();
export type HttpMonitorConfig = z.infer<typeof HttpMonitorConfig>;
