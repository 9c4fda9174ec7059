import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();

/** Every environment variable Drover reads. Nothing else touches `process.env`. */
export const EnvSchema = z.object({
  PORT: port.default(8080),
  HOST: z.string().default('0.0.0.0'),
  DROVER_DATA_DIR: z.string().min(1).default('./.drover'),
  DROVER_PROFILE: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'profile names are kebab-case')
    .default('dev'),
  DROVER_PROFILES_DIR: z.string().min(1).default('./run-profiles'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MAX_CONCURRENT_AGENTS: positiveInt.optional(),
  SESSION_AGENT_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'SESSION_AGENT_ID uses letters, digits, ".", "_" and "-"')
    .optional(),
  HEARTBEAT_MS: positiveInt.optional(),
  LEASE_MS: positiveInt.optional(),
  COMMAND_TIMEOUT_MS: positiveInt.optional(),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(25_000),
});
export type Env = z.infer<typeof EnvSchema>;
