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

export type RateLimitBucket =
  /** Every log-in attempt from one IP. */
  | 'login-ip'
  /** Failed log-ins of one account from IPs that never logged in to it (login-throttle.ts). */
  | 'login-account'
  /** Failed log-ins of one (account, IP) pair, and that pair's lockout, and its "known" mark. */
  | 'login-pair'
  | 'login-lock'
  | 'login-known'
  /** Requests from one IP whose bearer token was bad or unknown (auth.ts). */
  | 'auth-failure-ip'
  | 'writes';

export class RateLimiter {
  readonly #deps: AppDeps;
  #failingOpen = false;

  constructor(deps: AppDeps) {
    this.#deps = deps;
  }

  get windowSeconds(): number {
    return this.#deps.config.rateLimitWindowSeconds;
  }

  /** Counts one hit of `subject` in `bucket`; throws RateLimitedError past `limit` in the window. */
  async hit(bucket: RateLimitBucket, subject: string | number, limit: number, log: FastifyBaseLogger): Promise<void> {
    const count = await this.add(bucket, subject, 1, this.windowSeconds, log);
    if (count !== undefined && count > limit) throw new RateLimitedError(await this.secondsLeft(bucket, subject, this.windowSeconds));
  }

  /**
   * Adds `by` (negative: gives back) to a counter living `ttlSeconds` from its first hit, and
   * returns the new count; undefined when the counter is unavailable (fail open).
   */
  async add(bucket: RateLimitBucket, subject: string | number, by: number, ttlSeconds: number, log: FastifyBaseLogger): Promise<number | undefined> {
    // Read at call time: development may swap the memory cache for Redis while running.
    const cache = this.#deps.cacheAccess.cache;
    let count: number;
    try {
      count = await cache.incr(CacheKeys.rateLimit(subject, bucket), by, ttlSeconds);
    } catch (err) {
      if (!this.#failingOpen) {
        this.#failingOpen = true;
        log.warn({ err, bucket }, 'rate limit counter unavailable: allowing requests without rate limiting until it works again');
      }
      return undefined;
    }
    if (this.#failingOpen) {
      this.#failingOpen = false;
      log.info({ bucket }, 'rate limit counters work again');
    }
    return count;
  }

  /** The counter's value without counting anything; 0 when absent or unavailable (fail open). */
  async count(bucket: RateLimitBucket, subject: string | number): Promise<number> {
    const value = await this.#deps.cacheAccess.cache.get<unknown>(CacheKeys.rateLimit(subject, bucket));
    return typeof value === 'number' && Number.isFinite(value) ? value : 0;
  }

  /** Seconds until `subject`'s key in `bucket` expires; `fallback` when unknown. */
  async secondsLeft(bucket: RateLimitBucket, subject: string | number, fallback: number): Promise<number> {
    const left = await this.#deps.cacheAccess.cache.ttl(CacheKeys.rateLimit(subject, bucket));
    return left !== null && left > 0 ? left : fallback;
  }

  /** Marks `subject` in `bucket` for `seconds` (a lockout, a "known" flag); best effort. */
  async mark(bucket: RateLimitBucket, subject: string | number, seconds: number): Promise<void> {
    // No grace: a mark must end exactly when its TTL does.
    await this.#deps.cacheAccess.cache.set(CacheKeys.rateLimit(subject, bucket), 1, { ttl: seconds, graceSeconds: false });
  }

  /** Seconds left on a mark; 0 when there is none (or the cache is unavailable: fail open). */
  markedFor(bucket: RateLimitBucket, subject: string | number): Promise<number> {
    return this.secondsLeft(bucket, subject, 0);
  }

  /** Forgets counters and marks (a successful log-in clears its pair); best effort. */
  async clear(entries: ReadonlyArray<readonly [RateLimitBucket, string | number]>): Promise<void> {
    await this.#deps.cacheAccess.cache.del(entries.map(([bucket, subject]) => CacheKeys.rateLimit(subject, bucket)));
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
