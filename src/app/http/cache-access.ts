/**
 * How domain services use the cache: one `read` that returns the value with its X-Cache status,
 * and invalidations. It also owns two app-level policies:
 *
 * - CACHE_ENABLED=false: every read goes to the database (status BYPASS) through the same code
 *   path, which is the "without cache" column of the load test.
 * - Degraded mode: while Redis is unhealthy (reconnecting, not answering PING, or a cache call
 *   just failed), reads that fall through to the database pass a bulkhead of
 *   DB_FALLBACK_CONCURRENCY slots. A read that finds it full is answered 503 + Retry-After at
 *   once: an outage must not become a database stampede, and no request waits in a queue.
 */
import type { Cache, CacheStatus } from '../../cache/index.ts';
import { OverloadedError } from './errors.ts';

export type XCache = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

export interface ReadResult<T> {
  value: T;
  xCache: XCache;
}

/** Options passed through to the library's getOrSet (seconds, or the options object). */
export type ReadTtl = Parameters<Cache['getOrSet']>[2];

export interface FallbackMetrics {
  onFallback(): void;
  onFallbackRejected(): void;
}

export class Bulkhead {
  #inFlight = 0;
  constructor(readonly limit: number) {}
  get inFlight(): number {
    return this.#inFlight;
  }
  /** Runs fn in a free slot, or throws OverloadedError at once when none is free. */
  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.#inFlight >= this.limit) throw new OverloadedError(1);
    this.#inFlight++;
    try {
      return await fn();
    } finally {
      this.#inFlight--;
    }
  }
}

const STATUS: Record<CacheStatus, XCache> = { hit: 'HIT', miss: 'MISS', stale: 'STALE' };

/** How long after a cache error reads still count as degraded, in ms. */
const DEGRADED_AFTER_ERROR_MS = 1000;

export class CacheAccess {
  #cache: Cache;
  readonly enabled: boolean;
  readonly bulkhead: Bulkhead;
  #isRedisHealthy: () => boolean;
  readonly #metrics: FallbackMetrics | undefined;
  #lastCacheErrorAtMs = 0;

  constructor(opts: { cache: Cache; enabled: boolean; fallbackConcurrency: number; isRedisHealthy: () => boolean; metrics?: FallbackMetrics }) {
    this.#cache = opts.cache;
    this.enabled = opts.enabled;
    this.bulkhead = new Bulkhead(opts.fallbackConcurrency);
    this.#isRedisHealthy = opts.isRedisHealthy;
    this.#metrics = opts.metrics;
  }

  /** The cache in use now; read it at call time (development may move it to Redis later). */
  get cache(): Cache {
    return this.#cache;
  }

  /**
   * Development only: Redis came back after the server started on the memory store. The memory
   * cache is dropped rather than copied: its entries may have missed invalidations.
   */
  replaceCache(cache: Cache, isRedisHealthy: () => boolean): Cache {
    const old = this.#cache;
    this.#cache = cache;
    this.#isRedisHealthy = isRedisHealthy;
    return old;
  }

  /** Call from the cache's onError hook: the next reads in this window are degraded. */
  noteCacheError(): void {
    this.#lastCacheErrorAtMs = Date.now();
  }

  get degraded(): boolean {
    return !this.#isRedisHealthy() || Date.now() - this.#lastCacheErrorAtMs < DEGRADED_AFTER_ERROR_MS;
  }

  async read<T>(key: string, fetcher: () => Promise<T>, ttl: ReadTtl): Promise<ReadResult<T>> {
    if (!this.enabled) return { value: await fetcher(), xCache: 'BYPASS' };
    const guarded = (): Promise<T> => {
      if (!this.degraded) return fetcher();
      this.#metrics?.onFallback();
      return this.bulkhead.run(fetcher).catch((err: unknown) => {
        if (err instanceof OverloadedError) this.#metrics?.onFallbackRejected();
        throw err;
      });
    };
    const r = await this.#cache.getOrSetWithMeta(key, guarded, ttl);
    return { value: r.value, xCache: STATUS[r.status] };
  }

  /** Deletes keys after a write. A failure is counted and logged by the cache, never thrown. */
  async invalidate(...keys: string[]): Promise<void> {
    if (!this.enabled || keys.length === 0) return;
    await this.#cache.del(keys);
  }

  async invalidatePattern(pattern: string): Promise<void> {
    if (!this.enabled) return;
    await this.#cache.invalidatePattern(pattern);
  }
}
