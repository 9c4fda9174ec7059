import { z } from 'zod';
import { secretWhen } from '../secret-fields';

const Selector = z.string().min(1).max(500);
const HttpUrl = z
  .string()
  .max(2_000)
  .url()
  .refine((url) => /^https?:\/\//i.test(url), 'only http and https URLs can be opened');

export const GotoStep = z.object({ action: z.literal('goto'), url: HttpUrl }).strict();
export const ClickStep = z.object({ action: z.literal('click'), selector: Selector }).strict();
export const TypeStep = z
  .object({
    action: z.literal('type'),
    selector: Selector,
    /** Sealed like any secret field when `secret` is true. */
    text: secretWhen(z.string().max(10_000), (step) => step.secret === true),
    /** The text is a password or token: sealed, and it never appears in activities or logs. */
    secret: z.boolean().optional(),
  })
  .strict();
export const WaitForStep = z
  .object({
    action: z.literal('waitFor'),
    selector: Selector,
    timeoutMs: z.number().int().min(1).max(300_000).optional(),
  })
  .strict();
export const ExtractStep = z
  .object({
    action: z.literal('extract'),
    selector: Selector,
    /** Key of the text in the run's `details.extracted`. */
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'a letter, then up to 63 letters, digits, "_" or "-"'),
  })
  .strict();
export const ScreenshotStep = z
  .object({
    action: z.literal('screenshot'),
    label: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, '1 to 64 letters, digits, "_" or "-"')
      .optional(),
  })
  .strict();
export const SleepStep = z.object({ action: z.literal('sleep'), ms: z.number().int().min(0).max(600_000) }).strict();

/** One step of a script. Steps only name selectors and values: no code is run from a config. */
export const ScriptStep = z.discriminatedUnion('action', [
  GotoStep,
  ClickStep,
  TypeStep,
  WaitForStep,
  ExtractStep,
  ScreenshotStep,
  SleepStep,
]);
export type ScriptStep = z.infer<typeof ScriptStep>;

export const ScriptedConfig = z
  .object({
    steps: z.array(ScriptStep).min(1).max(100),
    /** Runs the steps again every repeatEveryMs (start to start); without it, runs them once. */
    repeatEveryMs: z.number().int().min(1_000).max(86_400_000).optional(),
  })
  .strict();
export type ScriptedConfig = z.infer<typeof ScriptedConfig>;
