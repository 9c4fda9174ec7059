import { z } from 'zod';
import { parseBusUsers, type BusUsers } from '@drover/contracts';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();

/** Separates a variable's meaning from what applies when it is unset, in its zod description. */
export const UNSET_MARK = '\nUnset: ';

/**
 * A variable with its documentation: the meaning, and what applies when it is unset (for one
 * without a default). docs/environment.md's table is generated from these (`environmentTable`).
 */
function documented<T extends z.ZodTypeAny>(schema: T, meaning: string, whenUnset?: string): T {
  return schema.describe(whenUnset === undefined ? meaning : `${meaning}${UNSET_MARK}${whenUnset}`);
}

/** Every environment variable Drover reads. Nothing else touches `process.env`. */
export const EnvSchema = z.object({
  /** The gateway's (and standalone's) public REST API. */
  PORT: documented(port.default(8080), "the REST API's port (gateway, standalone; `0`: any free port)"),
  /**
   * Where the API listens. Unset: every interface when DROVER_API_KEYS is set, else 127.0.0.1
   * only; a non-loopback HOST without keys refuses to start (see `apiBind` in the gateway).
   */
  HOST: documented(
    z.string().min(1).optional(),
    "the REST API's bind address ([Bind rule](operations.md#bind-rule))",
    'every interface with `DROVER_API_KEYS`, else `127.0.0.1`',
  ),
  /** Lets the API listen on a non-loopback HOST without API keys (something in front authenticates). */
  DROVER_ALLOW_OPEN_API: documented(
    z
      .enum(['true', 'false'], { message: 'DROVER_ALLOW_OPEN_API is true or false' })
      .default('false')
      .transform((value) => value === 'true'),
    '`true`: a keyless API may listen on a non-loopback `HOST` (something in front authenticates)',
  ),
  DROVER_DEAD_LETTER_KEEPER: documented(
    z
      .enum(['true', 'false'], { message: 'DROVER_DEAD_LETTER_KEEPER is true or false' })
      .default('true')
      .transform((value) => value === 'true'),
    'the persistence agent files every dead letter for the API, emptying the `.dead` queues ([Dead letters](dead-letters-and-load.md)); `false` leaves them in their queues',
  ),
  /** Every long-running service's `/live`, `/ready` and `/metrics`: internal, never the public API port. */
  OPS_PORT: documented(
    port.default(9090),
    '`/live`, `/ready`, `/metrics` of every service ([Ops port](operations.md#ops-port))',
  ),
  OPS_HOST: documented(
    z.string().min(1).default('127.0.0.1'),
    "the ops port's bind address (`0.0.0.0` in the images, for Prometheus)",
  ),
  DROVER_DATA_DIR: documented(
    z.string().min(1).default('./.drover'),
    "the SQLite store, the standalone's secrets key ring and agent data",
  ),
  DROVER_PROFILE: documented(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'profile names are kebab-case')
      .default('dev'),
    "the run-profile's name ([Run-profiles](operations.md#run-profiles))",
  ),
  DROVER_PROFILES_DIR: documented(z.string().min(1).default('./run-profiles'), 'where run-profiles live'),
  LOG_LEVEL: documented(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'pino log level',
  ),
  MAX_CONCURRENT_AGENTS: documented(
    positiveInt.optional(),
    "overrides the profile's `sessionAgent.maxConcurrentAgents` (sessions per session agent)",
    "the profile's",
  ),
  SESSION_AGENT_ID: documented(
    z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'SESSION_AGENT_ID uses letters, digits, ".", "_" and "-"')
      .optional(),
    "the session agent's instance id",
    'host name + random suffix',
  ),
  HEARTBEAT_MS: documented(
    positiveInt.optional(),
    "overrides the profile's `sessionAgent.heartbeatMs`",
    "the profile's",
  ),
  LEASE_MS: documented(
    positiveInt.optional(),
    "overrides the profile's `sessionAgent.leaseMs` ([Session-agent leases](operations.md#session-agent-leases))",
    "the profile's",
  ),
  ENGINE_LEASE_MS: documented(
    positiveInt.optional(),
    "overrides the profile's `engine.leaseMs` (an engine's lease on an agent)",
    "the profile's",
  ),
  COMMAND_TIMEOUT_MS: documented(
    positiveInt.optional(),
    "overrides the profile's `gateway.commandTimeoutMs` (how long the gateway waits for the engine's answer)",
    "the profile's",
  ),
  SHUTDOWN_TIMEOUT_MS: documented(positiveInt.default(25_000), 'graceful-shutdown deadline'),
  /** Production adapters: each one replaces its embedded default when set. */
  RABBITMQ_URL: documented(
    z
      .string()
      .regex(
        /^amqps?:\/\/[^,\s]+(\s*,\s*amqps?:\/\/[^,\s]+)*$/,
        'RABBITMQ_URL must be an amqp:// or amqps:// URL, or the nodes of one cluster separated by commas',
      )
      .optional(),
    '`amqp://user:pass@host:5672/vhost`, or the nodes of one cluster separated by commas ([A RabbitMQ cluster](bus.md#a-rabbitmq-cluster)); required by every separate service process',
    'the in-memory bus (standalone)',
  ),
  /** The broker's management API, where bootstrap sets the dead-letter policy; unset: beside RABBITMQ_URL. */
  RABBITMQ_MANAGEMENT_URL: documented(
    z
      .string()
      .regex(/^https?:\/\//, 'RABBITMQ_MANAGEMENT_URL must be an http:// or https:// URL')
      .optional(),
    'where bootstrap sets the dead-letter policy ([Retention](operations.md#retention))',
    "`RABBITMQ_URL`'s host, port 15672",
  ),
  MONGO_URL: documented(
    z
      .string()
      .regex(/^mongodb(\+srv)?:\/\//, 'MONGO_URL must be a mongodb:// or mongodb+srv:// URL')
      .optional(),
    'the MongoDB store (`mongodb://...`, a replica set recommended)',
    'the SQLite store in `DROVER_DATA_DIR`',
  ),
  MONGO_DB: documented(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,63}$/, 'MONGO_DB is a plain database name')
      .default('drover'),
    'the MongoDB database',
  ),
  REDIS_URL: documented(
    z
      .string()
      .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL')
      .optional(),
    'gateway rate limits shared by every replica',
    'rate limits in memory, per gateway',
  ),
  /**
   * The secrets key ring (docs/security.md, "Secrets"), normally from a file: `DROVER_SECRETS_KEY_FILE`.
   * Lines of `<key id>:<base64 32-byte key>`; the first seals, all open.
   */
  DROVER_SECRETS_KEY: documented(
    z.string().min(1).optional(),
    'the secrets key ring ([Secrets](security.md#secrets)), lines of `<key id>:<base64 32-byte key>` (the first seals, all open); use `DROVER_SECRETS_KEY_FILE`; required by gateway, engine and session agents',
    'standalone: generated in `DROVER_DATA_DIR`',
  ),
  /** Comma-separated gateway API keys; unset means the API is open (development). */
  DROVER_API_KEYS: documented(
    z
      .string()
      .transform((value) =>
        value
          .split(/[,\n]/)
          .map((key) => key.trim())
          .filter(Boolean),
      )
      .refine((keys) => keys.every((key) => key.length >= 16), 'every API key needs at least 16 characters')
      .optional(),
    'comma-separated gateway API keys, 16+ characters each; use `DROVER_API_KEYS_FILE`',
    'the API is open, on loopback only',
  ),
  /** Requests per client per window at the gateway. */
  RATE_LIMIT_POINTS: documented(positiveInt.default(100), 'gateway requests per client per window'),
  RATE_LIMIT_WINDOW_S: documented(positiveInt.default(1), 'the rate-limit window, in seconds'),
  SSE_KEEPALIVE_MS: documented(
    positiveInt.min(100).max(300_000).default(15_000),
    'interval of the `: keep-alive` comment on the live event streams (`GET /api/events`), in ms ([Events and correlation](events-and-correlation.md))',
  ),
  /** Browser sessions (session agents). */
  CHROME_PATH: documented(
    z.string().min(1).optional(),
    'the Chromium executable of session agents',
    'the lightest installed system Chromium',
  ),
  /**
   * `true` runs Chromium without its sandbox (`--no-sandbox`): only where the sandbox cannot
   * work (as root, or in a container without the seccomp profile of deploy/seccomp/chromium.json).
   */
  CHROME_NO_SANDBOX: documented(
    z
      .enum(['true', 'false', '1', '0'], { message: 'CHROME_NO_SANDBOX is true or false' })
      .transform((value) => value === 'true' || value === '1')
      .default('false'),
    "`true` runs Chromium without its sandbox ([Chromium's sandbox](api.md#chromiums-sandbox))",
  ),
  /** Screenshots live in `<PERSISTENT_DATA_PATH>/agents/<agentId>/`; shared by session agents and gateways. */
  PERSISTENT_DATA_PATH: documented(
    z.string().min(1).default('./.drover/data'),
    'screenshots, in `<path>/agents/<agentId>/`; shared by session agents and gateways',
  ),
  BROWSER_MAX_CONTEXTS: documented(
    positiveInt.default(200),
    'a session agent recycles its Chromium once this many contexts were created on it',
  ),
  BROWSER_MAX_RSS_MB: documented(
    positiveInt.default(1500),
    'a session agent recycles its Chromium when its memory (PSS of its process tree, MB) passes this',
  ),
  SCREENSHOT_LIMIT: documented(positiveInt.max(10_000).default(50), 'screenshots kept per agent'),
  COOKIE_SAVE_MS: documented(positiveInt.min(1000).default(30_000), 'how often a session saves its cookies'),
  /** Unacknowledged messages per consumer (RabbitMQ prefetch). */
  PREFETCH: documented(positiveInt.max(1000).default(16), 'unacknowledged messages per consumer (RabbitMQ prefetch)'),
  /**
   * The broker users of each role (`engine=drover-engine;...;operator=drover-operator`,
   * docs/security.md, "Trust boundaries on the bus"). Set: consumers refuse messages from the wrong sender, and only
   * bootstrap declares the topology. Unset: every sender is accepted (one shared broker user).
   */
  DROVER_BUS_USERS: documented(
    z
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
    'broker users per role, `engine=drover-engine;gateway=...;operator=drover-operator` ([Trust boundaries](security.md#trust-boundaries-on-the-bus))',
    'senders are not told apart',
  ),
});
export type Env = z.infer<typeof EnvSchema>;
