import type { z } from 'zod';
import { describeIssues, fieldIssues, type FieldIssue } from '@drover/contracts';
import { HttpMonitorConfig } from './http-monitor/http-monitor.schema';
import { PageMonitorConfig } from './page-monitor/page-monitor.schema';
import { ScriptedConfig } from './scripted/scripted.schema';
import { SocialFeedConfig } from './social-feed/social-feed.schema';

/**
 * Config schemas by behaviour name, without the implementations, so the engine can validate a
 * start command without loading browser code.
 */
export const BEHAVIOR_CONFIG_SCHEMAS: Readonly<Record<string, z.ZodTypeAny>> = {
  'http-monitor': HttpMonitorConfig,
  'page-monitor': PageMonitorConfig,
  scripted: ScriptedConfig,
  'social-feed': SocialFeedConfig,
};

/** An invalid config field; its path runs from the command payload, e.g. `config.intervalMs`. */
export type ConfigIssue = FieldIssue;

export type ConfigCheck =
  | { ok: true; config: Record<string, unknown> }
  | { ok: false; code: 'unknown_behavior' | 'invalid_config'; message: string; issues: ConfigIssue[] };

/** The behaviour's config with defaults applied, or every reason it is refused (paths from the payload). */
export function validateBehaviorConfig(behavior: string, config: unknown): ConfigCheck {
  const schema = BEHAVIOR_CONFIG_SCHEMAS[behavior];
  if (!schema) {
    const known = Object.keys(BEHAVIOR_CONFIG_SCHEMAS).join(', ');
    return {
      ok: false,
      code: 'unknown_behavior',
      message: `unknown behaviour "${behavior}"; known: ${known}`,
      issues: [{ field: 'behavior', message: `one of ${known}` }],
    };
  }
  const parsed = schema.safeParse(config);
  if (parsed.success) return { ok: true, config: parsed.data as Record<string, unknown> };
  const issues = fieldIssues(parsed.error, ['config']);
  return {
    ok: false,
    code: 'invalid_config',
    message: `invalid ${behavior} config: ${describeIssues(issues)}`,
    issues,
  };
}
