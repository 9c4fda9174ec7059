import { z } from 'zod';
import { AgentStatus } from './events.schema';
import { AgentId, AgentLabels, BehaviorName, LabelKey, LabelValue, MAX_LABELS } from './ids.schema';

/** One `key=value` label selector, as the list query and bulk selectors take it. */
export const LabelSelector = z
  .string()
  .max(200)
  .transform((text, ctx) => {
    const at = text.indexOf('=');
    const key = LabelKey.safeParse(at < 0 ? '' : text.slice(0, at));
    const value = LabelValue.safeParse(at < 0 ? '' : text.slice(at + 1));
    if (at < 0 || !key.success || !value.success) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `"${text}" is not key=value with a label key and value (${
          at < 0 ? 'no "="' : !key.success ? key.error.issues[0]?.message : value.error?.issues[0]?.message
        })`,
      });
      return z.NEVER;
    }
    return [key.data, value.data] as const;
  });

/** `label=k=v` once or repeated (AND), as labels; one key given twice must agree. */
export const LabelSelectors = z
  .union([LabelSelector.transform((pair) => [pair]), z.array(LabelSelector).max(MAX_LABELS)])
  .transform((value, ctx) => {
    const labels: Record<string, string> = {};
    for (const [key, v] of value) {
      if (key in labels && labels[key] !== v) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `label ${key} is asked with two values` });
        return z.NEVER;
      }
      labels[key] = v;
    }
    return labels;
  });

/** `PUT /api/agents/{agentId}/labels` body: the agent's new labels (replacing the old ones; `{}` removes them). */
export const LabelsRequest = z.object({ labels: AgentLabels }).strict();

/** `POST /api/agents/{agentId}/restart|pause` body (optional). */
export const ActionRequest = z.object({ reason: z.string().max(500).optional() }).strict();

/** The most agents one bulk action may act on; a wider selector is refused (400 naming `selector`). */
export const MAX_BULK_AGENTS = 1000;

/**
 * Which agents a bulk action acts on: every agent matching all the given criteria. An empty
 * selector is refused: acting on the whole fleet takes an explicit `all: true`.
 */
export const AgentSelector = z
  .object({
    status: AgentStatus.optional(),
    behavior: BehaviorName.optional(),
    /** `"key=value"`, a list of them (AND), or an object of labels. */
    label: z.union([LabelSelectors, AgentLabels]).optional(),
    all: z.literal(true).optional(),
  })
  .strict()
  .superRefine((selector, ctx) => {
    const criteria = selector.status ?? selector.behavior ?? selector.label;
    if (criteria === undefined && !selector.all) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'give at least one of status, behavior, label, or all: true to act on every agent',
      });
    }
  });

export const BULK_ACTIONS = ['stop', 'restart', 'pause', 'resume'] as const;
export const BulkActionRequest = z
  .object({
    action: z.enum(BULK_ACTIONS),
    selector: AgentSelector,
    reason: z.string().max(500).optional(),
  })
  .strict();
export type BulkActionRequest = z.infer<typeof BulkActionRequest>;

/** One agent's answer in a bulk action. */
export const BulkActionResult = z.object({
  agentId: AgentId,
  ok: z.boolean(),
  status: AgentStatus.optional(),
  commandId: z.string().optional(),
  outcome: z.enum(['accepted', 'duplicate', 'noop', 'pending']).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export const BulkActionResponse = z.object({
  matched: z.number().int().nonnegative(),
  results: z.array(BulkActionResult),
});
export type BulkActionResponse = z.infer<typeof BulkActionResponse>;
