import { getOrSetPlanOf, type GetOrSetOptions, type GetOrSetPlan, type TtlArg } from './call-options.ts';
import { randomToken, type StoredEntry } from './entry.ts';
import { Resolver } from './get-or-set.ts';
import type { CacheStatus, Found, Outcome } from './outcome.ts';
import { openStore } from './connect.ts';
import { encodeValue, NO_VALUE } from './codec.ts';
import { CacheClosedError, type CacheError, DecodeError, RedisUnavailableError, ReplicationTimeoutError } from './errors.ts';
import { admitToL1, type FacadeParts } from './facade/parts.ts';
import { deletePatternByNode, invalidateTagsIn } from './facade/invalidation.ts';
import { inspectKey, scanKeysIn, serverInfos } from './facade/operator.ts';
import { hasFresh, readValue, readValues, secondsLeft } from './facade/reads.ts';
import { deleteKeys, increment, writeValue, writeValues, type SetManyEntry } from './facade/writes.ts';
import { prefixedKey } from './keys.ts';
import type { EntryInspection, KeyScanBatch, RedisServerInfo } from './inspect.ts';
import type { CacheOptions, ResolvedCacheOptions } from './options.ts';
import { resolveOptions } from './options.ts';
import { defaultSerializer } from './serializer.ts';
import { ErrorReporter } from './reporter.ts';
import { StatsRecorder, type CacheStats } from './stats.ts';
import type { CacheStore, LeaseState, PatternDeletion } from './store.ts';
import { GetOrSetRead, LeasingReadPolicy, type ReadHandlers, type Shape } from './get-or-set-read.ts';
import type { RedisClientOfAnyVersion } from './topology/clients.ts';
import type { RedisConnection, RedisNodeState, TopologyKind } from './topology/connection.ts';
import { assertTtlSeconds } from './ttl.ts';
import { shouldRefreshEarly } from './xfetch.ts';
import type { OpenInvalidations } from './tiers/invalidation-source.ts';
import { openL1Tier, type L1Tier } from './tiers/l1.ts';
import { activeIn, CacheTracer, endWithOutcome, failed, SPAN } from './tracing.ts';
import type { Span } from '@opentelemetry/api';

export type { SetManyEntry } from './facade/writes.ts';

export interface GetOrSetResult<T> {
  value: T;
  status: CacheStatus;
}

export type RedisState = 'none' | 'connecting' | 'ready' | 'reconnecting' | 'closed';

/**
 * @internal Not part of the public API: lets tests and the simulator run several Cache
 * instances over one store (as several processes share one Redis), and drive waits.
 */
export interface CacheInternals {
  store?: CacheStore;
  /** The pause between polls of a lease holder. Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Where the in-process tier hears of changes, used when `options.l1` is set, whatever the
   * store (an injected one included). Default: Redis's tracking channels, one on each node that
   * takes writes (tiers/node-tracking.ts), and no tier on the in-memory store. The interleaving
   * test passes one fed by the shared memory store's `subscribeChanges`, each message delayed by
   * its scheduler.
   */
  invalidations?: OpenInvalidations;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const valueOf = <T>(value: T): T => value;
const withMeta = <T>(value: T, status: CacheStatus): GetOrSetResult<T> => ({ value, status });

/**
 * The cache facade. Reads (`get`, `getMany`, `getOrSet`, `has`, `ttl`) never throw because of
 * Redis: a failure is counted, reported, and answered as a miss (getOrSet runs the fetcher).
 * Writes (`set`, `setMany`, `del`) report failures and resolve `false`/`0`. `invalidatePattern`,
 * `invalidateTags` and counters reject with a typed error, because their callers must know.
 * Input errors (bad key, bad TTL, bad tag, undefined, oversized value) always throw.
 *
 * `get`, `getMany`, `has` and `ttl` see fresh values only; stale values (within grace) are
 * served by `getOrSet` alone, which can flag them.
 */
export class Cache {
  readonly options: ResolvedCacheOptions;
  readonly store: CacheStore;
  /** The node-redis client (single, cluster or sentinel), when the cache runs on Redis: the one passed in, or the node-redis 5 client the cache created. */
  readonly redis: RedisClientOfAnyVersion | undefined;
  readonly #connection: RedisConnection | undefined;
  readonly #stats = new StatsRecorder();
  readonly #reporter: ErrorReporter;
  readonly #resolver: Resolver;
  readonly #l1: L1Tier | undefined;
  readonly #tracer: CacheTracer;
  #closed = false;
  #seq = 0;
  readonly #leasingReads: LeasingReadPolicy;
  readonly #readHandlers: ReadHandlers;
  /** What the calls other than getOrSet need (facade/). */
  readonly #parts: FacadeParts;

  /** `internals` is not public API (see CacheInternals). */
  constructor(options: CacheOptions = {}, internals: CacheInternals = {}) {
    const o = resolveOptions(options);
    this.options = o;
    this.#reporter = new ErrorReporter({ logger: o.logger, onError: o.onError, logIntervalMs: o.logIntervalMs, now: () => o.clock.now() });
    const backing = openStore(o, this.#reporter, internals.store);
    this.store = backing.store;
    this.#connection = backing.connection;
    this.redis = backing.connection?.client;
    this.#l1 = openL1Tier(o.l1, o.prefix, backing.connection, internals.invalidations, (err) => void this.#reporter.report('l1', undefined, err));
    this.#tracer = new CacheTracer(o.tracing);
    this.#leasingReads = new LeasingReadPolicy(o.leasingReads);
    this.#readHandlers = { afterRead: this.#afterRead, afterLease: this.#afterLease, missed: this.#missed, failed: this.#failedCall };
    this.#parts = {
      options: o,
      store: this.store,
      stats: this.#stats,
      l1: this.#l1,
      key: (key) => this.#key(key),
      assertOpen: () => this.#assertOpen(),
      fail: (op, key, err, span) => this.#fail(op, key, err, span),
      encode: (key, value) => this.#encode(key, value),
      decode: (key, full, entry) => this.#decode(key, full, entry),
    };
    // The resolver (getOrSet's miss path) shares those parts and adds its own.
    this.#resolver = new Resolver({
      ...this.#parts,
      tracer: this.#tracer,
      nextSeq: () => ++this.#seq,
      sleep: internals.sleep ?? realSleep,
      isClosed: () => this.#closed,
    });
  }

  get redisState(): RedisState {
    const c = this.#connection;
    if (c === undefined) return 'none';
    if (this.#closed) return 'closed';
    if (c.isReady) return 'ready';
    return c.isOpen ? 'reconnecting' : 'connecting';
  }

  /** `single`, `sentinel` or `cluster`; undefined on the memory store. */
  get topology(): TopologyKind | undefined {
    return this.#connection?.kind;
  }

  /** Each Redis node the cache knows and its connection state (addresses only, never passwords). */
  redisNodes(): RedisNodeState[] {
    return this.#connection?.nodes() ?? [];
  }

  /** Resolves once Redis answers (at once for the memory store); rejects after timeoutMs. */
  ready(timeoutMs = this.options.connectTimeoutMs): Promise<void> {
    const c = this.#connection;
    if (c === undefined || c.isReady) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new RedisUnavailableError(`Redis not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = c.onReady(() => {
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  #key(key: string): string {
    const full = prefixedKey(this.options.prefix, key);
    this.#connection?.checkKey(full);
    return full;
  }

  #assertOpen(): void {
    if (this.#closed) throw new CacheClosedError();
  }

  #encode(key: string, value: unknown): string {
    return encodeValue(this.options.serializer, this.options.maxValueBytes, key, value);
  }

  /** Decodes a stored value; a value that fails to decode is a miss, counted, and deleted. */
  #decode(key: string, fullKey: string, entry: StoredEntry): unknown {
    try {
      if (entry.decoded === undefined) return this.options.serializer.decode(entry.value);
      // A JSON entry holds what the default serializer would decode. A cache with its own
      // serializer cannot know what the value means: it takes the corrupt-entry path rather
      // than guess, and writes the value back in its own form.
      if (this.options.serializer === defaultSerializer) return entry.decoded;
      throw new DecodeError('a JSON entry (default serializer) read by a cache with a custom serializer');
    } catch (err) {
      this.#stats.decodeErrors++;
      this.#fail('decode', key, err instanceof DecodeError ? err : new DecodeError('stored value could not be decoded', { cause: err }));
      this.store.delete([fullKey]).catch((e: unknown) => this.#fail('del', key, e));
      return NO_VALUE;
    }
  }

  /** Counts and reports a failure; with `span`, records it there (a Redis failure a read rode out included). */
  #fail(operation: string, key: string | undefined, err: unknown, span?: Span): CacheError {
    this.#stats.error(key);
    if (err instanceof ReplicationTimeoutError) this.#stats.replicationTimeouts++;
    const e = this.#reporter.report(operation, key, err);
    if (span !== undefined) failed(span, e);
    return e;
  }

  /**
   * Runs one call in a span named `name`: active while the call runs (so the node-redis client's
   * spans nest under it), failed if the call rejects, ended when it settles. getOrSet does not go
   * through here: its hit path allocates no closure (see #getOrSet).
   */
  #traced<R>(name: string, key: string | undefined, call: (span: Span) => Promise<R>): Promise<R> {
    const span = this.#tracer.start(name, key);
    // Nothing to record or end (no SDK, or sampled out): no wrapper promise, no closures.
    if (!span.isRecording()) return call(span);
    return activeIn(span, () => call(span)).then(
      (v) => {
        span.end();
        return v;
      },
      (err: unknown) => {
        failed(span, err);
        span.end();
        throw err;
      },
    );
  }

  /** The fresh value under key, or null (a miss, or Redis failed: counted and reported). */
  get<T = unknown>(key: string): Promise<T | null> {
    return this.#traced(SPAN.get, key, (span) => readValue<T>(this.#parts, key, span));
  }

  /** get for several keys in one round trip, null for each miss. */
  getMany<T = unknown>(keys: readonly string[]): Promise<(T | null)[]> {
    return this.#traced(SPAN.getMany, keys[0], (span) => readValues<T>(this.#parts, keys, span));
  }

  /**
   * Stores a value for ttl seconds (exactly: `set` never jitters), with optional tags and grace.
   * Replaces the key whole, so a lease on it is revoked. Resolves false (reported, counted) when
   * Redis fails.
   */
  set<T>(key: string, value: T, ttl: TtlArg): Promise<boolean> {
    return this.#traced(SPAN.set, key, (span) => writeValue(this.#parts, key, value, ttl, span));
  }

  /** Stores several values in one atomic round trip. */
  setMany(entries: readonly SetManyEntry[]): Promise<boolean> {
    return this.#traced(SPAN.setMany, entries[0]?.key, (span) => writeValues(this.#parts, entries, span));
  }

  /**
   * Deletes one key or several (and with them any lease: a fetch in flight will not write).
   * Resolves how many existed. On Redis failure: counted and reported, then resolves 0, or with
   * `{ throwOnError: true }` rejects with the typed error, for callers that must retry an
   * invalidation rather than lose it.
   */
  del(keys: string | readonly string[], options?: { throwOnError?: boolean }): Promise<number> {
    return this.#traced(SPAN.del, typeof keys === 'string' ? keys : keys[0], (span) => deleteKeys(this.#parts, keys, options, span));
  }

  /** Whether a fresh value is cached under key. */
  has(key: string): Promise<boolean> {
    return hasFresh(this.#parts, key);
  }

  /**
   * Seconds left before the value goes stale; 0 when it is stale (within grace); null when
   * there is no value (or Redis failed). A counter reports its expiry (-1 when it has none).
   */
  ttl(key: string): Promise<number | null> {
    return secondsLeft(this.#parts, key);
  }

  /**
   * Cache-aside: the cached value, or the fetcher's, stored for the TTL. On a miss the fetch
   * runs under a lease (see DESIGN.md): concurrent calls for one key in this process share one
   * fetcher run, and callers on other instances wait for it. A fetcher that throws is not
   * cached; its error reaches every waiter, unless a stale value within grace is served
   * instead (fail-safe). Redis failures fall through to the fetcher.
   */
  getOrSet<T>(key: string, fetcher: () => Promise<T> | T, ttlOrOptions: number | GetOrSetOptions): Promise<T> {
    return this.#getOrSet(key, fetcher, ttlOrOptions, valueOf);
  }

  /** getOrSet, also telling where the value came from (for `X-Cache` headers and metrics). */
  getOrSetWithMeta<T>(key: string, fetcher: () => Promise<T> | T, ttlOrOptions: number | GetOrSetOptions): Promise<GetOrSetResult<T>> {
    return this.#getOrSet(key, fetcher, ttlOrOptions, withMeta);
  }

  /**
   * Written without `async`/`await`: a hit costs the raw client's promise hops plus the
   * deadline's one, and its state is one GetOrSetRead (no closure per step). Each extra async
   * frame or closure measurably lowered the hit throughput (bench/cache.bench.ts).
   */
  #getOrSet<T, R>(key: string, fetcher: () => Promise<T> | T, ttlOrOptions: number | GetOrSetOptions, shape: Shape<T, R>): Promise<R> {
    // One span per call, ended wherever the call settles: below on an L1 hit or an input error,
    // in #afterRead on a Redis hit, after the resolver otherwise. Without an SDK it is the API's
    // non-recording span and nothing else is done with it.
    const span = this.#tracer.start(SPAN.getOrSet, key);
    let full: string;
    let plan: GetOrSetPlan<T> | undefined;
    try {
      this.#assertOpen();
      full = this.#key(key);
      // The hot path with a number TTL only validates it; the full plan is built on a miss.
      if (typeof ttlOrOptions === 'number') assertTtlSeconds(ttlOrOptions);
      else plan = getOrSetPlanOf(key, full, fetcher, ttlOrOptions, this.options);
    } catch (err) {
      return this.#rejectCall(span, err);
    }
    const l1 = this.#l1?.tier;
    let ticket = -1;
    if (l1?.up === true && (plan === undefined || plan.l1) && l1.eligible(key)) {
      const o = this.options;
      const now = o.clock.now();
      const e = l1.get(full, now);
      if (e !== undefined) {
        this.#stats.l1HitAt(full, o.prefix.length);
        // XFetch as on a Redis hit: the refresh's write evicts every instance's copy.
        if ((plan?.earlyRefresh ?? o.earlyRefresh) && shouldRefreshEarly(now, e.freshUntilMs, e.fetchMs, o.earlyRefreshBeta, o.random)) {
          try {
            this.#resolver.refreshEarly(plan ?? getOrSetPlanOf(key, full, fetcher, ttlOrOptions, o));
          } catch (err) {
            return this.#rejectCall(span, err);
          }
        }
        endWithOutcome(span, 'hit', 'l1');
        return Promise.resolve(shape(e.value as T, 'hit'));
      }
      ticket = l1.ticket();
    }
    const read = new GetOrSetRead(this.#readHandlers, key, full, fetcher, ttlOrOptions, plan, ++this.#seq, shape, ticket, span);
    if (this.#leasingReads.on && (plan === undefined ? this.options.leases : plan.lease && plan.tags.length === 0) && this.store.leaseOnRead) {
      read.token = randomToken();
      read.leaseTtlMs = this.options.leaseTtlMs;
      return span.isRecording() ? activeIn(span, () => this.store.readOrLease(read)) : this.store.readOrLease(read);
    }
    // The closure only when the span records: the untraced hit path allocates none.
    return span.isRecording() ? activeIn(span, () => this.store.read(read)) : this.store.read(read);
  }

  #rejectCall<R>(span: Span, err: unknown): Promise<R> {
    const e = err instanceof Error ? err : new Error(String(err));
    failed(span, e);
    span.end();
    return Promise.reject(e);
  }

  /** What getOrSet does with its read: a fresh value is the answer; anything else goes to the resolver. */
  readonly #afterRead = <T, R>(r: GetOrSetRead<T, R>, entry: StoredEntry | null, storeError: CacheError | undefined): R | Promise<R> => {
    const o = this.options;
    if (storeError !== undefined) this.#fail('getOrSet', r.key, storeError, r.span);
    const now = o.clock.now();
    let stale: Found | null = null;
    if (entry !== null && now < entry.graceUntilMs) {
      const value = this.#decode(r.key, r.fullKey, entry);
      if (value !== NO_VALUE) {
        if (now < entry.freshUntilMs) {
          this.#leasingReads.hit();
          this.#stats.hitAt(r.fullKey, o.prefix.length);
          if (entry.failSafe) {
            this.#stats.staleAt(r.fullKey, o.prefix.length);
            endWithOutcome(r.span, 'stale', 'l2');
            return r.shape(value as T, 'stale');
          }
          if ((r.plan?.earlyRefresh ?? o.earlyRefresh) && shouldRefreshEarly(now, entry.freshUntilMs, entry.fetchMs, o.earlyRefreshBeta, o.random)) {
            this.#resolver.refreshEarly(r.planWith(o));
          }
          if (r.l1Ticket >= 0) admitToL1(this.#l1, r.fullKey, r.l1Ticket, value, entry);
          endWithOutcome(r.span, 'hit', 'l2');
          return r.shape(value as T, 'hit');
        }
        stale = { value, fresh: false, failSafe: entry.failSafe, freshUntilMs: entry.freshUntilMs, seq: r.readSeq };
      }
    }
    if (storeError === undefined) this.#leasingReads.miss();
    return this.#resolved(r, this.#resolver.resolve(r.planWith(o), r.readSeq, stale, storeError !== undefined, r.span));
  };

  /**
   * A leasing read found no entry: the caller took the lease (and fetches), or waits for its
   * holder. A lease taken with no hard time-out on the fetch goes to Resolver.leased, which
   * answers through #missed and #failedCall.
   */
  readonly #afterLease = <T, R>(r: GetOrSetRead<T, R>, state: LeaseState): R | Promise<R> => {
    this.#leasingReads.miss();
    const plan = r.planWith(this.options);
    if (state === 'acquired' && plan.hardTimeoutMs === undefined) return this.#resolver.leased(plan, r);
    return this.#resolved(r, this.#resolver.resolve(plan, r.readSeq, null, false, r.span, { token: r.token, state }));
  };

  /** Counts and shapes what the resolver settled for a call that did not hit. */
  #resolved<T, R>(r: GetOrSetRead<T, R>, resolution: Promise<Outcome>): Promise<R> {
    return resolution.then((out) => {
      if (out.status === 'miss') return this.#missed(r, out.value);
      this.#stats.hit(r.key);
      if (out.status === 'stale') this.#stats.staleAt(r.key, 0);
      // The value came from the store (a write that beat this caller's lease, or stale).
      endWithOutcome(r.span, out.status, 'l2');
      return r.shape(out.value as T, out.status);
    }, (err: unknown) => this.#failedCall(r, err));
  }

  /** The answer of a call that fetched its value. */
  readonly #missed = <T, R>(r: GetOrSetRead<T, R>, value: unknown): R => {
    this.#stats.miss(r.key);
    endWithOutcome(r.span, 'miss', undefined);
    return r.shape(value as T, 'miss');
  };

  /** A call that did not hit and failed: its span records the error and ends; the error is rethrown as is. */
  readonly #failedCall = <T, R>(r: GetOrSetRead<T, R>, err: unknown): never => {
    failed(r.span, err);
    r.span.end();
    throw err;
  };

  /**
   * Invalidates every value written under any of the tags, on every instance, and revokes the
   * leases taken under them. Cost: one atomic step over the tags, whatever the number of keys
   * (nothing is scanned). Rejects with a typed error if Redis fails.
   */
  invalidateTags(tags: string[]): Promise<void> {
    return this.#traced(SPAN.invalidateTags, undefined, () => invalidateTagsIn(this.#parts, tags));
  }

  /**
   * Resolves once the background refreshes and the writes this instance has started so far have
   * settled. A miss answers its caller once the value is fetched, with the write already queued
   * on the connection: calls of this instance see it, another client may not yet. Await this
   * before another process or client must see what this one loaded (cache warming, a hand-off,
   * tests).
   */
  idle(): Promise<void> {
    return this.#resolver.idle();
  }

  /**
   * Deletes every key matching a Redis glob pattern inside this cache's prefix, with SCAN and
   * UNLINK in batches (never KEYS or FLUSH*). Resolves how many were deleted; rejects with a
   * typed error if Redis fails part-way (some keys may already be gone).
   */
  async invalidatePattern(pattern: string): Promise<number> {
    return (await this.invalidatePatternByNode(pattern)).deleted;
  }

  /**
   * invalidatePattern, telling how many keys each node deleted and how long its scan took. On a
   * cluster every master is scanned at once; one that fails rejects the call with
   * RedisNodeError naming it, after the others finished. `onProgress(deleted)`: the running
   * total, after each batch (for a progress display).
   */
  invalidatePatternByNode(pattern: string, options: { onProgress?: (deleted: number) => void } = {}): Promise<PatternDeletion> {
    return this.#traced(SPAN.invalidatePattern, undefined, (span) => deletePatternByNode(this.#parts, pattern, options, span));
  }

  // ---- Operator reads (inspect.ts): for tools such as the CLI; Redis only, nothing written. ----

  /**
   * What is stored under key, decoded with this cache's serializer (never deleted, even when it
   * does not decode): its form, state, times, tags with their validity, the lease on it if a
   * fetch holds one, and its Redis TTL. Rejects with a typed error if Redis fails.
   */
  inspect(key: string): Promise<EntryInspection> {
    return inspectKey(this.#parts, key);
  }

  /**
   * The application keys under the prefix that match a glob pattern (as invalidatePattern would
   * select them), one SCAN step at a time, master after master; with each step, the leases on
   * such keys and the tag versions it met. A key written or deleted during the scan may or may
   * not be seen (SCAN's guarantee). Rejects with a typed error if Redis fails.
   */
  scanKeys(pattern = '*', options: { batchSize?: number } = {}): AsyncGenerator<KeyScanBatch> {
    return scanKeysIn(this.#parts, pattern, options);
  }

  /** Each master's INFO and how many in-process tiers listen to it. Rejects with a typed error if Redis fails. */
  redisServers(): Promise<RedisServerInfo[]> {
    return serverInfos(this.#parts);
  }

  /** Adds `by` to a counter; the first increment sets its TTL atomically. Rejects on Redis failure. */
  incr(key: string, by = 1, ttlSeconds: number = this.options.defaultCounterTtlSeconds): Promise<number> {
    return this.#traced(SPAN.incr, key, () => increment(this.#parts, key, by, ttlSeconds));
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
    return this.#stats.snapshot(keys, this.store.kind, this.#l1?.snapshot() ?? null);
  }

  resetStats(): void {
    this.#stats.reset();
  }

  /** Stops the cache; quits the Redis client when the cache created it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#l1?.close();
    await this.store.close();
    await this.#connection?.close();
  }
}

export function createCache(options: CacheOptions = {}): Cache {
  return new Cache(options);
}
