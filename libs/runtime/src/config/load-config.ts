import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeIssues, fieldIssues } from '@drover/contracts';
import type { z } from 'zod';
import { EnvSchema, type Env } from './env.schema';
import { placeholderProblems } from './placeholders';
import { ProfileSchema, type Profile } from './profile.schema';

/** Raised at start-up; its message names every bad setting. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface DroverConfig {
  env: Env;
  profile: Profile;
}

function invalidConfig(source: string, error: z.ZodError): string {
  return `invalid ${source}:\n  ${describeIssues(fieldIssues(error), { separator: '\n  ', limit: Infinity })}`;
}

const DROVER_VARIABLES = new Set(Object.keys(EnvSchema.shape));

/**
 * `NAME_FILE` wins over `NAME` so secrets can come from mounted files. Only Drover's own
 * variables are read this way; other programs' `*_FILE` variables are none of our business.
 */
export function readEnv(source: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = { ...source };
  for (const [key, path] of Object.entries(source)) {
    if (!key.endsWith('_FILE') || !path || !DROVER_VARIABLES.has(key.slice(0, -'_FILE'.length))) continue;
    try {
      values[key.slice(0, -'_FILE'.length)] = readFileSync(path, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(`${key}: cannot read ${path}: ${(error as Error).message}`);
    }
  }
  return values;
}

export function loadProfile(profilesDir: string, name: string): Profile {
  const path = resolve(join(profilesDir, name, 'profile.json'));
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`DROVER_PROFILE=${name}: cannot read ${path}: ${(error as Error).message}`);
  }
  const parsed = ProfileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(invalidConfig(`profile ${path}`, parsed.error));
  return parsed.data;
}

/** Reads and validates the environment and the run-profile it names, once, at start-up. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): DroverConfig {
  const parsed = EnvSchema.safeParse(readEnv(source));
  if (!parsed.success) throw new ConfigError(invalidConfig('environment', parsed.error));
  const env = parsed.data;
  const placeholders = placeholderProblems(env);
  if (placeholders.length > 0) {
    throw new ConfigError(
      `refusing the example secrets:\n  ${placeholders.join('\n  ')}\n` +
        'make your own with `npm run --silent make-secrets -- <dir>` (docs/security.md, "Hardened containers")',
    );
  }
  const profile = loadProfile(env.DROVER_PROFILES_DIR, env.DROVER_PROFILE);
  // Environment overrides of profile values, so one image serves several profiles.
  if (env.MAX_CONCURRENT_AGENTS) profile.sessionAgent.maxConcurrentAgents = env.MAX_CONCURRENT_AGENTS;
  if (env.HEARTBEAT_MS) profile.sessionAgent.heartbeatMs = env.HEARTBEAT_MS;
  if (env.LEASE_MS) profile.sessionAgent.leaseMs = env.LEASE_MS;
  if (env.ENGINE_LEASE_MS) profile.engine.leaseMs = env.ENGINE_LEASE_MS;
  if (env.COMMAND_TIMEOUT_MS) profile.gateway.commandTimeoutMs = env.COMMAND_TIMEOUT_MS;
  if (profile.sessionAgent.leaseMs <= profile.sessionAgent.heartbeatMs) {
    throw new ConfigError('sessionAgent.leaseMs (LEASE_MS) must be longer than heartbeatMs (HEARTBEAT_MS)');
  }
  // A start waits out the lock of an engine that died holding the agent: one engine lease.
  if (profile.scheduler.startTimeoutMs < 2 * profile.engine.leaseMs) {
    throw new ConfigError(
      'scheduler.startTimeoutMs must be at least twice engine.leaseMs (ENGINE_LEASE_MS): ' +
        'a start can wait out the lease of an engine that died holding the agent',
    );
  }
  return { env, profile };
}
