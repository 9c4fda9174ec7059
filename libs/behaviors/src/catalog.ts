import { describeIssues, fieldIssues, type FieldIssue } from '@drover/contracts';
import { BEHAVIOR_CONFIG_SCHEMAS } from './behavior-schemas';

export { BEHAVIOR_CATALOG, BEHAVIOR_CONFIG_SCHEMAS, type BehaviorInfo } from './behavior-schemas';
export { secretMark, secretPaths, unwrapSchema, type FieldPath } from './secret-fields';
export {
  openStartSecrets,
  sealStartPayload,
  SECRET_MASK,
  startSecretsContext,
  type StartSecrets,
} from './sealed-start';

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
