import { z } from 'zod';

/** Agent ids are used in routing keys, file paths and URLs, so the alphabet is narrow. */
export const AgentId = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'agent ids start with a letter or digit and use only letters, digits, ".", "_" and "-"',
  );
export type AgentId = z.infer<typeof AgentId>;

export const MessageId = z.string().min(1).max(128);
export const IsoDateTime = z.string().datetime({ offset: true });
export const BehaviorName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'behaviour names are lower-case kebab-case');

/** Upstream proxy of an agent; credentials live in the URL and are redacted on every read. */
export const ProxyUrl = z
  .string()
  .url()
  .refine((value) => /^(https?|socks5?):\/\//.test(value), 'proxy must be http, https or socks5');

/**
 * The secret values of an agent's start (proxy credentials, the config fields its behaviour marks
 * secret), sealed together where the command entered Drover; only session agents open it.
 */
export const SealedSecrets = z
  .string()
  .max(1_000_000)
  .regex(/^sealed\.v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/, 'a sealed value');

/**
 * Label keys, like Kubernetes' but without ".": letters, digits, "_", "/" and "-", up to 128
 * characters (`example.com/team` becomes `example-com/team`). Labels are stored as document
 * fields (events, snapshots, views), and FerretDB refuses field names with a dot.
 */
export const LabelKey = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_/-]+$/, 'label keys use only letters, digits, "_", "/" and "-" (no ".")');
/** Label values: up to 63 letters, digits, ".", "_" and "-" (empty allowed), safe in a query string. */
export const LabelValue = z
  .string()
  .max(63)
  .regex(/^[A-Za-z0-9._-]*$/, 'label values are up to 63 letters, digits, ".", "_" and "-"');
/** Most labels an agent carries: selectors stay cheap, views small. */
export const MAX_LABELS = 32;
/**
 * An agent's labels: who owns it, what it is for. Bulk actions and list filters select agents
 * by them (`label=key=value`).
 */
export const AgentLabels = z
  .record(LabelKey, LabelValue)
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`);
export type AgentLabels = z.infer<typeof AgentLabels>;
