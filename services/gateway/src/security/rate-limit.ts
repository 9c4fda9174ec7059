import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '@drover/runtime';

export interface RateLimitOptions {
  /** Requests one client may make per window. A positive integer. */
  points: number;
  /** The window in seconds. A positive integer (Redis expiry has whole-second precision). */
  durationS: number;
  /** Prefix of the Redis keys; replicas that share a budget must share it. Default `drover-gw`. */
  keyPrefix?: string;
}

/** Applied when `security` is given without `rateLimit`: 100 requests per second per client. */
export const DEFAULT_RATE_LIMIT: Readonly<RateLimitOptions> = { points: 100, durationS: 1 };
export const DEFAULT_KEY_PREFIX = 'drover-gw';

/** Whether one request may pass, and the counter state to report in headers. */
export interface RateDecision {
  allowed: boolean;
  /** Absent when the limiter itself failed and the request was let through. */
  state?: RateLimiterRes;
}

/**
 * Per-client request budgets. With a Redis client the counters live in Redis (keys
 * `<keyPrefix>:<client>`), so every gateway replica on that Redis draws from one budget; without
 * it they live in this process. When Redis is not connected the limiter answers from an
 * in-memory insurance limiter with the same budget (per replica) instead of failing requests:
 * `rejectIfRedisNotReady` makes that switch immediate rather than waiting for ioredis to
 * reconnect. The Redis client belongs to the caller, who connects and quits it.
 */
export class RateLimiter {
  private readonly limiter: RateLimiterAbstract;
  private degraded = false;

  constructor(
    readonly options: RateLimitOptions,
    private readonly logger: Logger,
    private readonly redis?: Redis,
  ) {
    const { points, durationS } = options;
    if (!Number.isSafeInteger(points) || points < 1) {
      throw new RangeError('security.rateLimit.points must be a positive integer');
    }
    if (!Number.isSafeInteger(durationS) || durationS < 1) {
      throw new RangeError('security.rateLimit.durationS must be a positive integer (seconds)');
    }
    const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    const base = { points, duration: durationS, keyPrefix };
    this.limiter = redis
      ? new RateLimiterRedis({
          ...base,
          storeClient: redis,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory(base),
        })
      : new RateLimiterMemory(base);
  }

  /** Counts one request of `client`. Never throws: a failing limiter lets the request through. */
  async take(client: string): Promise<RateDecision> {
    this.watchRedis();
    try {
      return { allowed: true, state: await this.limiter.consume(client) };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { allowed: false, state: rejection };
      // Only reachable without insurance (the memory limiter does not fail): fail open, loudly.
      this.logger.warn({ err: (rejection as Error)?.message }, 'rate limiter failed; request let through');
      return { allowed: true };
    }
  }

  /** Logs the switch to and from the insurance limiter once each way. */
  private watchRedis(): void {
    if (!this.redis) return;
    const ready = this.redis.status === 'ready';
    if (ready === !this.degraded) return;
    this.degraded = !ready;
    if (ready) this.logger.info('rate limits are shared through Redis again');
    else this.logger.warn({ redisStatus: this.redis.status }, 'Redis not ready: rate limits fall back to this replica');
  }
}

/**
 * `RateLimit-*` (IETF draft: reset in seconds from now) and `X-RateLimit-*` (reset as a Unix
 * time in seconds) headers, plus `Retry-After` in whole seconds, rounded up, when rejected.
 */
export function rateLimitHeaders(options: RateLimitOptions, decision: RateDecision, now = Date.now()) {
  const state = decision.state;
  if (!state) return {};
  const resetS = Math.max(0, Math.ceil(state.msBeforeNext / 1000));
  const remaining = String(decision.allowed ? state.remainingPoints : 0);
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(options.points),
    'RateLimit-Remaining': remaining,
    'RateLimit-Reset': String(resetS),
    'RateLimit-Policy': `${options.points};w=${options.durationS}`,
    'X-RateLimit-Limit': String(options.points),
    'X-RateLimit-Remaining': remaining,
    'X-RateLimit-Reset': String(Math.ceil((now + state.msBeforeNext) / 1000)),
  };
  if (!decision.allowed) headers['Retry-After'] = String(Math.max(1, resetS));
  return headers;
}
