import { z } from 'zod';

export const PageMonitorConfig = z
  .object({
    url: z
      .string()
      .max(2_000)
      .url()
      .refine((url) => /^https?:\/\//i.test(url), 'only http and https URLs can be monitored'),
    /** CSS selector of the watched element; without it, the whole page's visible text is watched. */
    selector: z.string().min(1).max(500).optional(),
    intervalMs: z.number().int().min(500).max(86_400_000),
    /** When to save a screenshot: never, only on ticks where the text changed, or every tick. */
    screenshot: z.enum(['never', 'on-change', 'always']).default('never'),
    /** Navigation timeout; 30 s by default. */
    timeoutMs: z.number().int().min(100).max(300_000).optional(),
  })
  .strict();
export type PageMonitorConfig = z.infer<typeof PageMonitorConfig>;
