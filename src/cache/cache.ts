import { createClient } from 'redis';
import { reconnectDelayMs } from './backoff.ts';
import {
  CacheClosedError,
  CacheError,
  DecodeError,
  RedisUnavailableError,
  SerializeError,
  UndefinedValueError,
  ValueTooLargeError,
} from './errors.ts';
import { Guard, classify } from './guard.ts';
import { assertKey, escapeGlob } from './keys.ts';
import { MemoryStore } from './memory-store.ts';
import type { CacheOptions, ResolvedCacheOptions } from './options.ts';
import { resolveOptions } from './options.ts';
import { RedisStore, type NodeRedisClient } from './redis-store.ts';
import { ErrorReporter } from './reporter.ts';
import { StatsRecorder, type CacheStats } from './stats.ts';
import type { CacheStore } from './store.ts';
import { assertTtlSeconds, ttlToMs } from './ttl.ts';

/** The third argument of `set`/`getOrSet`: seconds, or an options object. */
export type TtlArg = number | { ttl: number };

export interface SetManyEntry<T = unknown> {
  key: string;
  value: T;
  ttl: TtlArg;
}

/** Where a getOrSet value came from: the cache, the fetcher, or the cache past its TTL (within grace). */
export type CacheStatus = 'hit' | 'miss' | 'stale';

export interface GetOrSetResult<T> {
  value: T;
  status: CacheStatus;
}

export type RedisState = 'none' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

function ttlSecondsOf(arg: TtlArg): number {
  const ttl = typeof arg === 'number' ? arg : arg?.ttl;
  assertTtlSeconds(ttl);
  return ttl;
}

/**
 * The cache facade. Reads (`get`, `getMany`, `getOrSet`, `has`, `ttl`) never throw because of
 * Redis: a failure is counted, reported, and answered as a miss (getOrSet runs the fetcher).
 * Writes (`set`, `setMany`, `del`) report failures and resolve `false`/`0`. `invalidatePattern`
 * and counters reject with a typed error, because their callers must know.
 * Input errors (bad key, bad TTL, undefined, oversized value) always throw.
 */
export class Cache {
  readonly options: ResolvedCacheOptions;
  readonly store: CacheStore;
  /** The node-redis client, when the cache runs on Redis. */
  readonly redis: NodeRedisClient | undefined;
  readonly #stats = new StatsRecorder();
  readonly #reporter: ErrorReporter;
  readonly #inflight = new Map<string, Promise<unknown>>();
  readonly #ownsClient: boolean;
  #closed = false;

  constructor(options: CacheOptions = {}) {
    const o = resolveOptions(options);
    this.options = o;
    this.#reporter = new ErrorReporter({ logger: o.logger, onError: o.onError, logIntervalMs: o.logIntervalMs, now: () => o.clock.now() });
    if (o.redis === undefined) {
      this.redis = undefined;
      this.#ownsClient = false;
      this.store = new MemoryStore({ clock: o.clock, maxEntries: o.memory.maxEntries, maxBytes: o.memory.maxBytes });
      return;
    }
    const guard = new Guard({
      commandTimeoutMs: o.commandTimeoutMs,
      breakerThreshold: o.breakerThreshold,
      breakerCooldownMs: o.breakerCooldownMs,
      now: () => Date.now(),
    });
    if (typeof o.redis === 'string') {
      this.#ownsClient = true;
      this.redis = createClient({
        url: o.redis,
        // Commands issued while disconnected fail at once instead of piling up in memory.
        disableOfflineQueue: true,
        socket: { connectTimeout: o.connectTimeoutMs, reconnectStrategy: (retries: number) => reconnectDelayMs(retries + 1) },
      });
      this.redis.connect().catch((err: unknown) => this.#reporter.report('connect', undefined, classify('connect', err)));
    } else {
      this.#ownsClient = false;
      this.redis = o.redis;
    }
    // An 'error' event without a listener crashes the process; with one, it is a rate-limited log line.
    this.redis.on('error', (err: unknown) => this.#reporter.report('connection', undefined, classify('connection', err)));
    this.store = new RedisStore(this.redis, guard);
  }

  get redisState(): RedisState {
    if (this.redis === undefined) return 'none';
    if (this.#closed) return 'closed';
    if (this.redis.isReady) return 'ready';
    return this.redis.isOpen ? 'reconnecting' : 'connecting';
  }

  /** Resolves once Redis answers (at once for the memory store); rejects after timeoutMs. */
  async ready(timeoutMs = this.options.connectTimeoutMs): Promise<void> {
    const client = this.redis;
    if (client === undefined || client.isReady) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.off('ready', onReady);
        reject(new RedisUnavailableError(`Redis not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      client.once('ready', onReady);
    });
  }

  #key(key: string): string {
    assertKey(key);
    return this.options.prefix + key;
  }

  #assertOpen(): void {
    if (this.#closed) throw new CacheClosedError();
  }

  #encode(key: string, value: unknown): string {
    if (value === undefined) throw new UndefinedValueError(key);
    let encoded: string;
    try {
      encoded = this.options.serializer.encode(value);
    } catch (err) {
      throw new SerializeError(key, { cause: err });
    }
    // UTF-16 length × 3 bounds the UTF-8 size, so most values skip the exact count.
    if (encoded.length * 3 > this.options.maxValueBytes) {
      const bytes = Buffer.byteLength(encoded);
      if (bytes > this.options.maxValueBytes) throw new ValueTooLargeError(key, bytes, this.options.maxValueBytes);
    }
    return encoded;
  }

  /** Decodes a stored value; a value that fails to decode is a miss, counted, and deleted. */
  #decode(key: string, fullKey: string, raw: string | null): { found: boolean; value: unknown } {
    if (raw === null) return { found: false, value: null };
    try {
      return { found: true, value: this.options.serializer.decode(raw) };
    } catch (err) {
      this.#stats.decodeErrors++;
      this.#fail('decode', key, err instanceof DecodeError ? err : new DecodeError('stored value could not be decoded', { cause: err }));
      this.store.delete([fullKey]).catch((e: unknown) => this.#fail('del', key, e));
      return { found: false, value: null };
    }
  }

  #fail(operation: string, key: string | undefined, err: unknown): CacheError {
    this.#stats.error(key);
    return this.#reporter.report(operation, key, err);
  }

  async get<T = unknown>(key: string): Promise<T | null> {
    this.#assertOpen();
    const full = this.#key(key);
    let raw: string | null;
    try {
      raw = await this.store.get(full);
    } catch (err) {
      this.#fail('get', key, err);
      return null;
    }
    const { found, value } = this.#decode(key, full, raw);
    if (found) this.#stats.hit(key);
    else this.#stats.miss(key);
    return value as T | null;
  }

  async getMany<T = unknown>(keys: readonly string[]): Promise<(T | null)[]> {
    this.#assertOpen();
    const full = keys.map((k) => this.#key(k));
    let raws: (string | null)[];
    try {
      raws = await this.store.getMany(full);
    } catch (err) {
      for (const k of keys) this.#fail('getMany', k, err);
      return keys.map(() => null);
    }
    return keys.map((k, i) => {
      const { found, value } = this.#decode(k, full[i] as string, raws[i] ?? null);
      if (found) this.#stats.hit(k);
      else this.#stats.miss(k);
      return value as T | null;
    });
  }

  /** Stores a value for ttl seconds. Resolves false (reported, counted) when Redis fails. */
  async set<T>(key: string, value: T, ttl: TtlArg): Promise<boolean> {
    this.#assertOpen();
    const full = this.#key(key);
    const ttlMs = ttlToMs(ttlSecondsOf(ttl));
    const encoded = this.#encode(key, value);
    try {
      await this.store.set(full, encoded, ttlMs);
      this.#stats.sets++;
      return true;
    } catch (err) {
      this.#fail('set', key, err);
      return false;
    }
  }

  /** Stores several values in one atomic round trip. */
  async setMany(entries: readonly SetManyEntry[]): Promise<boolean> {
    this.#assertOpen();
    const prepared = entries.map((e) => ({ key: this.#key(e.key), value: this.#encode(e.key, e.value), ttlMs: ttlToMs(ttlSecondsOf(e.ttl)) }));
    try {
      await this.store.setMany(prepared);
      this.#stats.sets += prepared.length;
      return true;
    } catch (err) {
      this.#fail('setMany', entries[0]?.key, err);
      return false;
    }
  }

  /** Deletes one key or several; resolves how many existed (0 when Redis failed, reported). */
  async del(keys: string | readonly string[]): Promise<number> {
    this.#assertOpen();
    const list = typeof keys === 'string' ? [keys] : keys;
    const full = list.map((k) => this.#key(k));
    try {
      const n = await this.store.delete(full);
      this.#stats.deletes += n;
      return n;
    } catch (err) {
      this.#fail('del', list[0], err);
      return 0;
    }
  }

  async has(key: string): Promise<boolean> {
    this.#assertOpen();
    try {
      return await this.store.exists(this.#key(key));
    } catch (err) {
      this.#fail('has', key, err);
      return false;
    }
  }

  /** Seconds left before the key expires; null when it does not exist (or Redis failed). */
  async ttl(key: string): Promise<number | null> {
    this.#assertOpen();
    try {
      const ms = await this.store.pttl(this.#key(key));
      if (ms === null) return null;
      return ms < 0 ? -1 : Math.ceil(ms / 1000);
    } catch (err) {
      this.#fail('ttl', key, err);
      return null;
    }
  }

  /**
   * Cache-aside: the cached value, or the fetcher's, stored for ttl seconds. Concurrent calls
   * for one key in this process share one fetcher run. A fetcher that throws is not cached and
   * its error reaches every waiter. Redis failures fall through to the fetcher.
   */
  async getOrSet<T>(key: string, fetcher: () => Promise<T> | T, ttl: TtlArg): Promise<T> {
    return (await this.getOrSetWithMeta(key, fetcher, ttl)).value;
  }

  /** getOrSet, also telling where the value came from (for `X-Cache` headers and metrics). */
  async getOrSetWithMeta<T>(key: string, fetcher: () => Promise<T> | T, ttl: TtlArg): Promise<GetOrSetResult<T>> {
    this.#assertOpen();
    const full = this.#key(key);
    const ttlSeconds = ttlSecondsOf(ttl);
    const pending = this.#inflight.get(full);
    if (pending !== undefined) {
      this.#stats.coalesced++;
      this.#stats.miss(key);
      return { value: (await pending) as T, status: 'miss' };
    }
    let raw: string | null = null;
    try {
      raw = await this.store.get(full);
    } catch (err) {
      this.#fail('getOrSet', key, err);
    }
    const { found, value } = this.#decode(key, full, raw);
    if (found) {
      this.#stats.hit(key);
      return { value: value as T, status: 'hit' };
    }
    this.#stats.miss(key);
    // Another caller may have started the fetch while this one awaited Redis.
    const raced = this.#inflight.get(full);
    if (raced !== undefined) {
      this.#stats.coalesced++;
      return { value: (await raced) as T, status: 'miss' };
    }
    const run = this.#fetchAndStore(key, full, fetcher, ttlSeconds);
    this.#inflight.set(full, run);
    try {
      return { value: await run, status: 'miss' };
    } finally {
      this.#inflight.delete(full);
    }
  }

  async #fetchAndStore<T>(key: string, full: string, fetcher: () => Promise<T> | T, ttlSeconds: number): Promise<T> {
    this.#stats.fetches++;
    const value = await fetcher();
    const encoded = this.#encode(key, value);
    try {
      await this.store.set(full, encoded, ttlToMs(ttlSeconds));
      this.#stats.sets++;
    } catch (err) {
      this.#fail('set', key, err);
    }
    return value;
  }

  /**
   * Deletes every key matching a Redis glob pattern inside this cache's prefix, with SCAN and
   * UNLINK in batches (never KEYS or FLUSH*). Resolves how many were deleted; rejects with a
   * typed error if Redis fails part-way (some keys may already be gone).
   */
  async invalidatePattern(pattern: string): Promise<number> {
    this.#assertOpen();
    assertKey(pattern);
    try {
      const n = await this.store.deletePattern(escapeGlob(this.options.prefix) + pattern, this.options.scanBatchSize);
      this.#stats.deletes += n;
      return n;
    } catch (err) {
      throw this.#fail('invalidatePattern', pattern, err);
    }
  }

  /** Adds `by` to a counter; the first increment sets its TTL atomically. Rejects on Redis failure. */
  async incr(key: string, by = 1, ttlSeconds: number = this.options.defaultCounterTtlSeconds): Promise<number> {
    this.#assertOpen();
    const full = this.#key(key);
    assertTtlSeconds(ttlSeconds);
    if (!Number.isSafeInteger(by)) throw new CacheError('E_INVALID_OPTIONS', `increment must be an integer, got ${by}`);
    try {
      return await this.store.incrBy(full, by, ttlToMs(ttlSeconds));
    } catch (err) {
      throw this.#fail('incr', key, err);
    }
  }

  decr(key: string, by = 1, ttlSeconds: number = this.options.defaultCounterTtlSeconds): Promise<number> {
    return this.incr(key, -by, ttlSeconds);
  }

  /** Hits, misses, hit rate (percent), errors, per namespace, and the store's key count. */
  async getStats(): Promise<CacheStats> {
    let keys: number | null = null;
    if (!this.#closed) {
      try {
        keys = await this.store.size();
      } catch (err) {
        this.#fail('stats', undefined, err);
      }
    }
    return this.#stats.snapshot(keys, this.store.kind);
  }

  resetStats(): void {
    this.#stats.reset();
  }

  /** Stops the cache; quits the Redis client when the cache created it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.store.close();
    if (this.#ownsClient && this.redis !== undefined) {
      if (this.redis.isOpen) await this.redis.close().catch(() => this.redis?.destroy());
      else this.redis.destroy();
    }
  }
}

export function createCache(options: CacheOptions = {}): Cache {
  return new Cache(options);
}
