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
 * - Invalidations are never lost. A write's `del`, tag invalidation or pattern deletion that
 *   fails (Redis frozen or reconnecting after the database commit) is kept in an outbox and
 *   retried every second until Redis takes it; meanwhile reads of those keys, and reads that
 *   carry one of those tags (the `tags` of their options), bypass the cache, so the old value
 *   cannot be served from a Redis that comes back with it. Past OUTBOX_MAX_KEYS pending
 *   entries (keys, tags and patterns together) the outbox collapses to "delete everything
 *   under the prefix" on recovery, which drops the tag versions too.
 * - The in-process tier (CACHE_L1): with `l1Namespaces`, a read of a key outside those
 *   namespaces is sent with `l1: false`, so the per-domain choice (cache-policy.ts, L1_POLICY)
 *   is made here once, not in each service, and a namespace nobody decided on stays out of L1.
 */
import { InvalidKeyError, InvalidOptionsError, InvalidTagError, type Cache, type CacheStatus } from '../../cache/index.ts';
import { globToRegExp } from '../../cache/glob.ts';
import { namespaceOf } from '../../cache/keys.ts';
import { NotFoundError, OverloadedError } from './errors.ts';

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

/** An error in what the caller asked for, which no retry can fix: never queued in the outbox. */
function isInputError(err: unknown): boolean {
  return err instanceof InvalidKeyError || err instanceof InvalidTagError || err instanceof InvalidOptionsError;
}

/** Most pending entries (keys, tags, patterns) the outbox holds before it collapses to a full flush. */
export const OUTBOX_MAX_KEYS = 10_000;

/** Retry period of failed invalidations, in ms. */
const OUTBOX_RETRY_MS = 1000;

/** Keys (or tags) per command when the outbox is replayed. */
const OUTBOX_RETRY_BATCH = 500;

/**
 * Sends the pending entries in batches; an entry leaves `pending` once its batch succeeded,
 * unless it failed again meanwhile (a newer sequence number). Rejects at the first failed batch.
 */
async function replayInBatches(pending: Map<string, number>, send: (batch: string[]) => Promise<unknown>): Promise<void> {
  const entries = Array.from(pending);
  for (let i = 0; i < entries.length; i += OUTBOX_RETRY_BATCH) {
    const batch = entries.slice(i, i + OUTBOX_RETRY_BATCH);
    await send(batch.map(([name]) => name));
    for (const [name, seq] of batch) if (pending.get(name) === seq) pending.delete(name);
  }
}

export class CacheAccess {
  #cache: Cache;
  readonly enabled: boolean;
  readonly bulkhead: Bulkhead;
  #isRedisHealthy: () => boolean;
  readonly #metrics: FallbackMetrics | undefined;
  readonly #l1Namespaces: ReadonlySet<string> | undefined;
  #lastCacheErrorAtMs = 0;
  // Each pending entry holds the sequence number of its latest failure, so a replay that was
  // already in flight when the same entry failed again does not take the newer failure with it.
  #failureSeq = 0;
  readonly #pendingKeys = new Map<string, number>();
  readonly #pendingTags = new Map<string, number>();
  readonly #pendingPatterns = new Map<string, { re: RegExp; seq: number }>();
  /** Sequence number of the failure that made a full flush due; 0 when none is. */
  #pendingFlushAll = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #retrying = false;

  constructor(opts: {
    cache: Cache;
    enabled: boolean;
    fallbackConcurrency: number;
    isRedisHealthy: () => boolean;
    metrics?: FallbackMetrics;
    /** Namespaces whose reads may be served from the cache's in-process tier; undefined: no per-read choice (L1 off). */
    l1Namespaces?: ReadonlySet<string> | undefined;
  }) {
    this.#cache = opts.cache;
    this.enabled = opts.enabled;
    this.bulkhead = new Bulkhead(opts.fallbackConcurrency);
    this.#isRedisHealthy = opts.isRedisHealthy;
    this.#metrics = opts.metrics;
    this.#l1Namespaces = opts.l1Namespaces;
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

  /** Invalidations waiting to be retried (keys, tags, patterns, and whether a full flush is due). */
  get pendingInvalidations(): { keys: number; tags: number; patterns: number; flushAll: boolean } {
    return { keys: this.#pendingKeys.size, tags: this.#pendingTags.size, patterns: this.#pendingPatterns.size, flushAll: this.#pendingFlushAll > 0 };
  }

  #pendingCount(): number {
    return this.#pendingKeys.size + this.#pendingTags.size + this.#pendingPatterns.size;
  }

  #isPending(key: string, ttl: ReadTtl): boolean {
    if (this.#pendingFlushAll > 0 || this.#pendingKeys.has(key)) return true;
    if (this.#pendingTags.size > 0 && typeof ttl === 'object') {
      for (const tag of ttl.tags ?? []) if (this.#pendingTags.has(tag)) return true;
    }
    for (const { re } of this.#pendingPatterns.values()) if (re.test(key)) return true;
    return false;
  }

  /**
   * Reads through the cache. `ttl` is what getOrSet takes; its `tags` are also how the outbox
   * knows that a pending tag invalidation covers this read.
   */
  async read<T>(key: string, fetcher: () => Promise<T>, ttl: ReadTtl): Promise<ReadResult<T>> {
    if (!this.enabled) return { value: await fetcher(), xCache: 'BYPASS' };
    // A failed invalidation of this key (or of one of its tags) is still pending: the cache may
    // hold the old value.
    if (this.#pendingFlushAll > 0 || this.#pendingCount() > 0) {
      if (this.#isPending(key, ttl)) return { value: await fetcher(), xCache: 'BYPASS' };
    }
    const guarded = (): Promise<T> => {
      if (!this.degraded) return fetcher();
      this.#metrics?.onFallback();
      return this.bulkhead.run(fetcher).catch((err: unknown) => {
        if (err instanceof OverloadedError) this.#metrics?.onFallbackRejected();
        throw err;
      });
    };
    const r = await this.#cache.getOrSetWithMeta(key, guarded, this.#l1Choice(key, ttl));
    return { value: r.value, xCache: STATUS[r.status] };
  }

  /** The read's options with `l1: false` when its namespace may not use the in-process tier. */
  #l1Choice(key: string, ttl: ReadTtl): ReadTtl {
    const allowed = this.#l1Namespaces;
    if (allowed === undefined || allowed.has(namespaceOf(key))) return ttl;
    if (typeof ttl === 'number') return { ttl, l1: false };
    return ttl.l1 === false ? ttl : { ...ttl, l1: false };
  }

  /**
   * A read of something that may not exist: `find` resolving undefined is a 404 (`what` not
   * found), thrown from the fetcher so nothing is cached for an unknown id.
   */
  readFound<T>(key: string, what: string, find: () => Promise<T | undefined>, ttl: ReadTtl): Promise<ReadResult<T>> {
    return this.read(
      key,
      async () => {
        const found = await find();
        if (found === undefined) throw new NotFoundError(what);
        return found;
      },
      ttl,
    );
  }

  /**
   * Deletes keys after a write; a failure goes to the outbox and is retried, never lost. A key
   * the cache refuses (InvalidKeyError: a bug in the caller) throws once the valid keys of the
   * same call are deleted or queued: retrying it could never succeed, and queued it would keep
   * the whole outbox failing.
   */
  async invalidate(...keys: string[]): Promise<void> {
    if (!this.enabled || keys.length === 0) return;
    try {
      await this.#cache.del(keys, { throwOnError: true });
    } catch (err) {
      if (!isInputError(err)) {
        this.#enqueue({ keys });
        return;
      }
      if (keys.length === 1) throw err;
      // One bad key refuses the whole call before anything is sent: the rest go one by one.
      const results = await Promise.allSettled(keys.map((k) => this.invalidate(k)));
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      throw refused?.reason ?? err;
    }
  }

  /** Deletes every key matching a pattern after a write; a failure goes to the outbox. A pattern the cache refuses throws. */
  async invalidatePattern(pattern: string): Promise<void> {
    if (!this.enabled) return;
    try {
      await this.#cache.invalidatePattern(pattern);
    } catch (err) {
      if (isInputError(err)) throw err;
      this.#enqueue({ pattern });
    }
  }

  /**
   * Invalidates every entry written under any of the tags after a write (O(1) per tag, nothing
   * scanned); a failure goes to the outbox and is retried, never lost. A tag that is not a valid
   * tag throws: retrying it could never succeed.
   */
  async invalidateTags(...tags: string[]): Promise<void> {
    if (!this.enabled || tags.length === 0) return;
    try {
      await this.#cache.invalidateTags(tags);
    } catch (err) {
      if (isInputError(err)) throw err;
      this.#enqueue({ tags });
    }
  }

  #enqueue(failed: { keys?: readonly string[]; tags?: readonly string[]; pattern?: string }): void {
    const seq = ++this.#failureSeq;
    if (failed.pattern !== undefined) this.#pendingPatterns.set(failed.pattern, { re: globToRegExp(failed.pattern), seq });
    for (const k of failed.keys ?? []) this.#pendingKeys.set(k, seq);
    for (const t of failed.tags ?? []) this.#pendingTags.set(t, seq);
    if (this.#pendingCount() > OUTBOX_MAX_KEYS) {
      this.#pendingKeys.clear();
      this.#pendingTags.clear();
      this.#pendingPatterns.clear();
      this.#pendingFlushAll = seq;
    }
    if (this.#retryTimer === undefined) {
      this.#retryTimer = setInterval(() => void this.#retry(), OUTBOX_RETRY_MS);
      this.#retryTimer.unref();
    }
  }

  /** Replays the outbox; entries leave it only once Redis has taken them. */
  async #retry(): Promise<void> {
    if (this.#retrying || !this.#isRedisHealthy()) return;
    this.#retrying = true;
    try {
      const flushAll = this.#pendingFlushAll;
      if (flushAll > 0) {
        await this.#cache.invalidatePattern('*');
        if (this.#pendingFlushAll === flushAll) this.#pendingFlushAll = 0;
      }
      for (const [pattern, { seq }] of Array.from(this.#pendingPatterns)) {
        await this.#cache.invalidatePattern(pattern);
        if (this.#pendingPatterns.get(pattern)?.seq === seq) this.#pendingPatterns.delete(pattern);
      }
      await replayInBatches(this.#pendingTags, (tags) => this.#cache.invalidateTags(tags));
      await replayInBatches(this.#pendingKeys, (keys) => this.#cache.del(keys, { throwOnError: true }));
      if (this.#pendingCount() === 0 && this.#pendingFlushAll === 0) {
        clearInterval(this.#retryTimer);
        this.#retryTimer = undefined;
      }
    } catch {
      // Still failing: reported by the cache; the next tick tries again.
    } finally {
      this.#retrying = false;
    }
  }

  /** Stops the retry timer (shutdown). Pending invalidations are lost with the process's cache. */
  close(): void {
    clearInterval(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}
