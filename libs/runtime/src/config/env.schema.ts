import { z } from 'zod';
import { parseBusUsers, type BusUsers } from '@drover/contracts';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();

/** Every environment variable Drover reads. Nothing else touches `process.env`. */
export const EnvSchema = z.object({
  /** The gateway's (and standalone's) public REST API. */
  PORT: port.default(8080),
  /**
   * Where the API listens. Unset: every interface when DROVER_API_KEYS is set, else 127.0.0.1
   * only; a non-loopback HOST without keys refuses to start (see `apiBind` in the gateway).
   */
  HOST: z.string().min(1).optional(),
  /** Lets the API listen on a non-loopback HOST without API keys (something in front authenticates). */
  DROVER_ALLOW_OPEN_API: z
    .enum(['true', 'false'], { message: 'DROVER_ALLOW_OPEN_API is true or false' })
    .default('false')
    .transform((value) => value === 'true'),
  /**
   * The persistence agent files every dead letter in the read side (docs/dead-letters-and-load.md),
   * consuming the `.dead` queues. `false` leaves them in their queues for the management UI alone.
   */
  DROVER_DEAD_LETTER_KEEPER: z
    .enum(['true', 'false'], { message: 'DROVER_DEAD_LETTER_KEEPER is true or false' })
    .default('true')
    .transform((value) => value === 'true'),
  /** Every long-running service's `/live`, `/ready` and `/metrics`: internal, never the public API port. */
  OPS_PORT: port.default(9090),
  OPS_HOST: z.string().min(1).default('127.0.0.1'),
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
  ENGINE_LEASE_MS: positiveInt.optional(),
  COMMAND_TIMEOUT_MS: positiveInt.optional(),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(25_000),
  /** Production adapters: each one replaces its embedded default when set. */
  RABBITMQ_URL: z
    .string()
    .regex(
      /^amqps?:\/\/[^,\s]+(\s*,\s*amqps?:\/\/[^,\s]+)*$/,
      'RABBITMQ_URL must be an amqp:// or amqps:// URL, or the nodes of one cluster separated by commas',
    )
    .optional(),
  /** The broker's management API, where bootstrap sets the dead-letter policy; unset: beside RABBITMQ_URL. */
  RABBITMQ_MANAGEMENT_URL: z
    .string()
    .regex(/^https?:\/\//, 'RABBITMQ_MANAGEMENT_URL must be an http:// or https:// URL')
    .optional(),
  MONGO_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'MONGO_URL must be a mongodb:// or mongodb+srv:// URL')
    .optional(),
  MONGO_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'MONGO_DB is a plain database name')
    .default('drover'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL')
    .optional(),
  /**
   * The secrets key ring (README, "Secrets"), normally from a file: `DROVER_SECRETS_KEY_FILE`.
   * Lines of `<key id>:<base64 32-byte key>`; the first seals, all open.
   */
  DROVER_SECRETS_KEY: z.string().min(1).optional(),
  /** Comma-separated gateway API keys; unset means the API is open (development). */
  DROVER_API_KEYS: z
    .string()
    .transform((value) =>
      value
        .split(/[,\n]/)
        .map((key) => key.trim())
        .filter(Boolean),
    )
    .refine((keys) => keys.every((key) => key.length >= 16), 'every API key needs at least 16 characters')
    .optional(),
  /** Requests per client per window at the gateway. */
  RATE_LIMIT_POINTS: positiveInt.default(100),
  RATE_LIMIT_WINDOW_S: positiveInt.default(1),
  /** Interval of the `: keep-alive` comment on the gateway's live streams (`GET /api/events`), in ms. */
  SSE_KEEPALIVE_MS: positiveInt.min(100).max(300_000).default(15_000),
  /** Browser sessions (session agents). */
  CHROME_PATH: z.string().min(1).optional(),
  /**
   * `true` runs Chromium without its sandbox (`--no-sandbox`): only where the sandbox cannot
   * work (as root, or in a container without the seccomp profile of deploy/seccomp/chromium.json).
   */
  CHROME_NO_SANDBOX: z
    .enum(['true', 'false', '1', '0'], { message: 'CHROME_NO_SANDBOX is true or false' })
    .transform((value) => value === 'true' || value === '1')
    .default('false'),
  /** Screenshots live in `<PERSISTENT_DATA_PATH>/agents/<agentId>/`; shared by session agents and gateways. */
  PERSISTENT_DATA_PATH: z.string().min(1).default('./.drover/data'),
  BROWSER_MAX_CONTEXTS: positiveInt.default(200),
  BROWSER_MAX_RSS_MB: positiveInt.default(1500),
  SCREENSHOT_LIMIT: positiveInt.max(10_000).default(50),
  COOKIE_SAVE_MS: positiveInt.min(1000).default(30_000),
  /** Unacknowledged messages per consumer (RabbitMQ prefetch). */
  PREFETCH: positiveInt.max(1000).default(16),
  /**
   * The broker users of each role (`engine=drover-engine;...;operator=drover-operator`, README
   * "Trust boundaries on the bus"). Set: consumers refuse messages from the wrong sender, and only
   * bootstrap declares the topology. Unset: every sender is accepted (one shared broker user).
   */
  DROVER_BUS_USERS: z
    .string()
    .transform((spec, ctx): BusUsers => {
      try {
        return parseBusUsers(spec);
      } catch (error) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
});
export type Env = z.infer<typeof EnvSchema>;
