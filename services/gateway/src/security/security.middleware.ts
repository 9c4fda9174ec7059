import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from '@drover/runtime';
import { ApiKeys } from './api-keys';
import { DEFAULT_RATE_LIMIT, RateLimiter, rateLimitHeaders, type RateLimitOptions } from './rate-limit';

/**
 * Access control for the gateway (`GatewayDeps.security`).
 *
 * - Omitted entirely: no authentication and no rate limit.
 * - `apiKeys` (non-empty): every call except the probes needs `Authorization: Bearer <key>` or
 *   `X-API-Key: <key>`, else `401 unauthorized` with `WWW-Authenticate: Bearer`.
 * - `rateLimit`: the budget per client; when `security` is given without it,
 *   `DEFAULT_RATE_LIMIT` (100 requests per second) applies. A client is its API key (by digest)
 *   when it presents a valid one, else its IP address (`req.ip`: set express's `trust proxy`
 *   behind a load balancer). Exhausted budgets answer `429 rate_limited` with `Retry-After`.
 * - `redis`: share the budgets with every replica on that Redis; without it they are per process.
 *
 * `/live` (the only probe on the API port; `/ready` and `/metrics` are on the ops port) is never
 * authenticated or limited. The API's description (`/openapi.json`, `/docs` and its assets) needs
 * no key, so the docs page can load it, nor do the web console's static files (`/console` and
 * its bundle, which hold no data: the console sends the key on every API call); both count
 * against the caller's rate limit. Everything
 * else (`/api/*`, and unknown paths, so new routes are closed by default) needs both.
 */
export interface GatewaySecurity {
  apiKeys?: string[];
  rateLimit?: RateLimitOptions;
  redis?: Redis;
}

/** The liveness probe stays open; matched like express routes (case-insensitive, optional trailing slash). */
const OPEN_PATHS = /^\/live\/?$/i;

export function isOpenPath(path: string): boolean {
  return OPEN_PATHS.test(path);
}

const DOCS_PATHS = /^\/(openapi\.json|docs(\/[A-Za-z0-9._-]+)?|console(\/[A-Za-z0-9._-]+)?)\/?$/i;

/** The API's description, its page and the console's static files: no key needed, the rate limit applies. */
export function isDocsPath(path: string): boolean {
  return DOCS_PATHS.test(path);
}

/** Builds the express middleware; throws on invalid configuration. Keys are never logged. */
export function securityMiddleware(security: GatewaySecurity, logger: Logger): RequestHandler {
  const keys = new ApiKeys(security.apiKeys ?? []);
  const options = security.rateLimit ?? DEFAULT_RATE_LIMIT;
  const limiter = new RateLimiter(options, logger, security.redis);

  const handle = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (isOpenPath(req.path)) return next();
    const auth = keys.enabled && !isDocsPath(req.path) ? keys.authenticate(req.headers) : undefined;
    // Failed attempts count against the caller's IP, which also slows down key guessing.
    const client = auth?.ok ? `key:${auth.keyId}` : `ip:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
    const decision = await limiter.take(client);
    res.set(rateLimitHeaders(options, decision));
    if (!decision.allowed) {
      const retryAfter = res.get('Retry-After') ?? '1';
      return void res.status(429).json({
        error: { code: 'rate_limited', message: `too many requests: retry after ${retryAfter}s` },
      });
    }
    if (auth && !auth.ok) {
      const missing = auth.reason === 'missing';
      res.set('WWW-Authenticate', missing ? 'Bearer realm="drover"' : 'Bearer realm="drover", error="invalid_token"');
      return void res.status(401).json({
        error: {
          code: 'unauthorized',
          message: missing
            ? 'an API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"'
            : 'the API key is not valid',
        },
      });
    }
    next();
  };

  return (req, res, next) => {
    handle(req, res, next).catch((error: unknown) => {
      logger.error({ err: (error as Error)?.message }, 'security check failed');
      if (!res.headersSent) res.status(500).json({ error: { code: 'internal', message: 'internal error' } });
    });
  };
}

/** The gateway's security as the environment configures it (API keys, rate limit, shared Redis). */
export function securityFromEnv(
  env: { DROVER_API_KEYS?: string[] | undefined; RATE_LIMIT_POINTS: number; RATE_LIMIT_WINDOW_S: number },
  redis?: Redis,
): GatewaySecurity {
  return {
    ...(env.DROVER_API_KEYS?.length ? { apiKeys: env.DROVER_API_KEYS } : {}),
    rateLimit: { points: env.RATE_LIMIT_POINTS, durationS: env.RATE_LIMIT_WINDOW_S },
    ...(redis ? { redis } : {}),
  };
}
