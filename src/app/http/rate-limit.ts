/**
 * Fixed-window rate limits on the cache library's counters: `incr(key, 1, window)` sets the
 * window's TTL on the first hit, so a counter resets by itself. Over the limit the request is
 * answered 429 with `Retry-After` = the seconds left in the window.
 *
 * FAIL OPEN: when the counter cannot be read (Redis down or timing out), the request is
 * allowed. A cache outage must not lock every user out of the service; the price is that
 * limits are not enforced during the outage. It is logged once per outage (again after the
 * counters have worked in between), not once per request.
 */
import type { FastifyBaseLogger, onRequestAsyncHookHandler } from 'fastify';
import { CacheKeys } from '../../cache/index.ts';
import type { AppDeps } from '../deps.ts';
import { RateLimitedError } from './errors.ts';

export type RateLimitBucket = 'login-ip' | 'login-account' | 'writes';

export class RateLimiter {
  readonly #deps: AppDeps;
  #failingOpen = false;

  constructor(deps: AppDeps) {
    this.#deps = deps;
  }

  /** Counts one hit of `subject` in `bucket`; throws RateLimitedError past `limit` in the window. */
  async hit(bucket: RateLimitBucket, subject: string | number, limit: number, log: FastifyBaseLogger): Promise<void> {
    const key = CacheKeys.rateLimit(subject, bucket);
    const windowSeconds = this.#deps.config.rateLimitWindowSeconds;
    // Read at call time: development may swap the memory cache for Redis while running.
    const cache = this.#deps.cacheAccess.cache;
    let count: number;
    try {
      count = await cache.incr(key, 1, windowSeconds);
    } catch (err) {
      if (!this.#failingOpen) {
        this.#failingOpen = true;
        log.warn({ err, bucket }, 'rate limit counter unavailable: allowing requests without rate limiting until it works again');
      }
      return;
    }
    if (this.#failingOpen) {
      this.#failingOpen = false;
      log.info({ bucket }, 'rate limit counters work again');
    }
    if (count > limit) {
      const left = await cache.ttl(key);
      throw new RateLimitedError(left !== null && left > 0 ? left : windowSeconds);
    }
  }
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** onRequest hook (after `authenticate`): WRITE_RATE_LIMIT_PER_USER writes per window per user. */
export function limitWrites(deps: AppDeps, limiter: RateLimiter): onRequestAsyncHookHandler {
  return async (req) => {
    if (READ_METHODS.has(req.method) || req.auth === null) return;
    await limiter.hit('writes', req.auth.userId, deps.config.writeRateLimitPerUser, req.log);
  };
}
