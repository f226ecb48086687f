import { entryWriteOf, getOrSetPlanOf, setPlanOf, type GetOrSetOptions, type GetOrSetPlan, type TtlArg } from './call-options.ts';
import { randomToken, type EntryWrite, type StoredEntry } from './entry.ts';
import { Resolver, type CacheStatus, type Found, type Outcome } from './get-or-set.ts';
import { openStore } from './connect.ts';
import { encodeValue, NO_VALUE } from './codec.ts';
import { CacheClosedError, CacheError, DecodeError, InvalidOptionsError, RedisUnavailableError, ReplicationTimeoutError } from './errors.ts';
import { escapeGlob, prefixedKey } from './keys.ts';
import { globToRegExp } from './glob.ts';
import { classifyScan, describeInspection, serverInfoOf, type EntryInspection, type KeyScanBatch, type RawInspection, type RedisServerInfo } from './inspect.ts';
import type { CacheOptions, ResolvedCacheOptions } from './options.ts';
import { resolveOptions } from './options.ts';
import { defaultSerializer } from './serializer.ts';
import { ErrorReporter } from './reporter.ts';
import { StatsRecorder, type CacheStats } from './stats.ts';
import type { CacheStore, LeaseState, PatternDeletion } from './store.ts';
import { GetOrSetRead, LeasingReadPolicy, type ReadHandlers, type Shape } from './get-or-set-read.ts';
import type { RedisClientOfAnyVersion } from './topology/clients.ts';
import type { RedisConnection, RedisNodeState, TopologyKind } from './topology/connection.ts';
import { assertTags } from './tags.ts';
import { assertTtlSeconds, ttlToMs } from './ttl.ts';
import { shouldRefreshEarly } from './xfetch.ts';
import type { OpenInvalidations } from './tiers/invalidation-source.ts';
import { L1Tier } from './tiers/l1.ts';
import { NodeTrackingSource, type TrackingTargets } from './tiers/node-tracking.ts';
import { activeIn, ATTR, CacheTracer, count, endWithOutcome, failed, setOutcome, SPAN } from './tracing.ts';
import type { Span } from '@opentelemetry/api';

export interface SetManyEntry<T = unknown> {
  key: string;
  value: T;
  ttl: TtlArg;
}

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

const NO_TAG_NAMES: readonly string[] = [];

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

  /** `internals` is not public API (see CacheInternals). */
  constructor(options: CacheOptions = {}, internals: CacheInternals = {}) {
    const o = resolveOptions(options);
    this.options = o;
    this.#reporter = new ErrorReporter({ logger: o.logger, onError: o.onError, logIntervalMs: o.logIntervalMs, now: () => o.clock.now() });
    const backing = openStore(o, this.#reporter, internals.store);
    this.store = backing.store;
    this.#connection = backing.connection;
    this.redis = backing.connection?.client;
    this.#l1 = this.#openL1(backing.connection, internals.invalidations);
    this.#tracer = new CacheTracer(o.tracing);
    this.#leasingReads = new LeasingReadPolicy(o.leasingReads);
    this.#readHandlers = { afterRead: this.#afterRead, afterLease: this.#afterLease };
    this.#resolver = new Resolver({
      store: this.store,
      options: o,
      stats: this.#stats,
      tracer: this.#tracer,
      fail: (op, key, err, span) => this.#fail(op, key, err, span),
      encode: (key, value) => this.#encode(key, value),
      decode: (key, full, entry) => this.#decode(key, full, entry),
      nextSeq: () => ++this.#seq,
      sleep: internals.sleep ?? realSleep,
      isClosed: () => this.#closed,
    });
  }

  #openL1(connection: RedisConnection | undefined, given: OpenInvalidations | undefined): L1Tier | undefined {
    const o = this.options;
    const l1 = o.l1;
    if (l1 === undefined) return undefined;
    if (given !== undefined) return new L1Tier(l1, o.prefix, given);
    // The in-memory store has no other writer to hear about: nothing to put in front of it.
    if (connection === undefined) return undefined;
    let targets: TrackingTargets;
    try {
      targets = connection.trackingTargets();
    } catch (err) {
      void connection.close();
      throw err;
    }
    const onError = (err: unknown): void => void this.#reporter.report('l1', undefined, err);
    const tracking: OpenInvalidations = (handlers) =>
      new NodeTrackingSource({ prefix: o.prefix, heartbeatMs: l1.heartbeatMs, channelTimeoutMs: l1.channelTimeoutMs, targets, onError }, handlers);
    return new L1Tier(l1, o.prefix, tracking);
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

  /** The fresh value of a stored entry, or not found. */
  #fresh(key: string, full: string, entry: StoredEntry | null, nowMs: number): unknown {
    if (entry === null || nowMs >= entry.freshUntilMs || entry.failSafe) return NO_VALUE;
    return this.#decode(key, full, entry);
  }

  get<T = unknown>(key: string): Promise<T | null> {
    return this.#traced(SPAN.get, key, (span) => this.#get<T>(key, span));
  }

  async #get<T>(key: string, span: Span): Promise<T | null> {
    this.#assertOpen();
    const full = this.#key(key);
    const l1 = this.#l1?.tier;
    let ticket = -1;
    if (l1?.up === true && l1.eligible(key)) {
      const e = l1.get(full, this.options.clock.now());
      if (e !== undefined) {
        this.#stats.l1HitAt(full, this.options.prefix.length);
        setOutcome(span, 'hit', 'l1');
        return e.value as T;
      }
      ticket = l1.ticket();
    }
    let entry: StoredEntry | null;
    try {
      entry = await this.store.readEntry(full);
    } catch (err) {
      this.#fail('get', key, err, span);
      setOutcome(span, 'miss', undefined);
      return null;
    }
    const value = this.#fresh(key, full, entry, this.options.clock.now());
    if (value === NO_VALUE) {
      this.#stats.miss(key);
      setOutcome(span, 'miss', undefined);
      return null;
    }
    this.#stats.hit(key);
    setOutcome(span, 'hit', 'l2');
    if (ticket >= 0 && entry !== null) this.#admit(full, ticket, value, entry);
    return value as T;
  }

  /** Keeps a fresh value read from Redis in the in-process tier, if nothing invalidated it meanwhile. */
  #admit(full: string, ticket: number, value: unknown, entry: StoredEntry): void {
    const tags = entry.tags.length === 0 ? NO_TAG_NAMES : entry.tags.map((t) => t[0]);
    this.#l1?.tier.admit(full, ticket, value, entry.freshUntilMs, entry.fetchMs, tags, entry.value.length);
  }

  /** This instance changed these keys: out of its L1 at once (other instances hear it from Redis). */
  #dropL1(full: readonly string[]): void {
    this.#l1?.dropKeys(full);
  }

  getMany<T = unknown>(keys: readonly string[]): Promise<(T | null)[]> {
    return this.#traced(SPAN.getMany, keys[0], (span) => this.#getMany<T>(keys, span));
  }

  async #getMany<T>(keys: readonly string[], span: Span): Promise<(T | null)[]> {
    this.#assertOpen();
    count(span, ATTR.keyCount, keys.length);
    const full = keys.map((k) => this.#key(k));
    let entries: (StoredEntry | null)[];
    try {
      entries = await this.store.readEntries(full);
    } catch (err) {
      for (const k of keys) this.#fail('getMany', k, err, span);
      return keys.map(() => null);
    }
    const now = this.options.clock.now();
    return keys.map((k, i) => {
      const value = this.#fresh(k, full[i] as string, entries[i] ?? null, now);
      if (value === NO_VALUE) {
        this.#stats.miss(k);
        return null;
      }
      this.#stats.hit(k);
      return value as T;
    });
  }

  #entryWrite(key: string, value: unknown, arg: TtlArg, nowMs: number): EntryWrite {
    return entryWriteOf(this.#key(key), this.#encode(key, value), setPlanOf(arg, this.options), nowMs);
  }

  /**
   * Stores a value for ttl seconds (exactly: `set` never jitters), with optional tags and grace.
   * Replaces the key whole, so a lease on it is revoked. Resolves false (reported, counted) when
   * Redis fails.
   */
  set<T>(key: string, value: T, ttl: TtlArg): Promise<boolean> {
    return this.#traced(SPAN.set, key, (span) => this.#set(key, value, ttl, span));
  }

  async #set(key: string, value: unknown, ttl: TtlArg, span: Span): Promise<boolean> {
    this.#assertOpen();
    const entry = this.#entryWrite(key, value, ttl, this.options.clock.now());
    try {
      await this.store.write([entry]);
      this.#dropL1([entry.key]);
      this.#stats.sets++;
      return true;
    } catch (err) {
      this.#fail('set', key, err, span);
      return false;
    }
  }

  /** Stores several values in one atomic round trip. */
  setMany(entries: readonly SetManyEntry[]): Promise<boolean> {
    return this.#traced(SPAN.setMany, entries[0]?.key, (span) => this.#setMany(entries, span));
  }

  async #setMany(entries: readonly SetManyEntry[], span: Span): Promise<boolean> {
    this.#assertOpen();
    count(span, ATTR.keyCount, entries.length);
    const now = this.options.clock.now();
    const prepared = entries.map((e) => this.#entryWrite(e.key, e.value, e.ttl, now));
    try {
      await this.store.write(prepared);
      this.#dropL1(prepared.map((e) => e.key));
      this.#stats.sets += prepared.length;
      return true;
    } catch (err) {
      this.#fail('setMany', entries[0]?.key, err, span);
      return false;
    }
  }

  /**
   * Deletes one key or several; resolves how many existed (0 when Redis failed, reported).
   * Deleting a key also revokes its lease: a fetch that began before is not written after.
   */
  /**
   * Deletes one key or several (and with them any lease: a fetch in flight will not write).
   * Resolves how many existed. On Redis failure: counted and reported, then resolves 0, or with
   * `{ throwOnError: true }` rejects with the typed error, for callers that must retry an
   * invalidation rather than lose it.
   */
  del(keys: string | readonly string[], options?: { throwOnError?: boolean }): Promise<number> {
    return this.#traced(SPAN.del, typeof keys === 'string' ? keys : keys[0], (span) => this.#del(keys, options, span));
  }

  async #del(keys: string | readonly string[], options: { throwOnError?: boolean } | undefined, span: Span): Promise<number> {
    this.#assertOpen();
    const list = typeof keys === 'string' ? [keys] : keys;
    count(span, ATTR.keyCount, list.length);
    const full = list.map((k) => this.#key(k));
    try {
      const n = await this.store.delete(full);
      this.#dropL1(full);
      this.#stats.deletes += n;
      count(span, ATTR.deleted, n);
      return n;
    } catch (err) {
      // A rethrown error is recorded once, by #traced.
      const e = this.#fail('del', list[0], err, options?.throwOnError === true ? undefined : span);
      if (options?.throwOnError === true) throw e;
      return 0;
    }
  }

  /** Whether a fresh value is cached under key. */
  async has(key: string): Promise<boolean> {
    this.#assertOpen();
    const full = this.#key(key);
    try {
      const entry = await this.store.readEntry(full);
      return entry !== null && this.options.clock.now() < entry.freshUntilMs && !entry.failSafe;
    } catch (err) {
      this.#fail('has', key, err);
      return false;
    }
  }

  /**
   * Seconds left before the value goes stale; 0 when it is stale (within grace); null when
   * there is no value (or Redis failed). A counter reports its expiry (-1 when it has none).
   */
  async ttl(key: string): Promise<number | null> {
    this.#assertOpen();
    const full = this.#key(key);
    try {
      const entry = await this.store.readEntry(full);
      const now = this.options.clock.now();
      if (entry === null || now >= entry.graceUntilMs) return null;
      if (entry.freshUntilMs !== Infinity) return entry.failSafe ? 0 : Math.max(0, Math.ceil((entry.freshUntilMs - now) / 1000));
      const ms = await this.store.pttl(full);
      if (ms === null) return null;
      return ms < 0 ? -1 : Math.ceil(ms / 1000);
    } catch (err) {
      this.#fail('ttl', key, err);
      return null;
    }
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
          if (r.l1Ticket >= 0) this.#admit(r.fullKey, r.l1Ticket, value, entry);
          endWithOutcome(r.span, 'hit', 'l2');
          return r.shape(value as T, 'hit');
        }
        stale = { value, fresh: false, failSafe: entry.failSafe, freshUntilMs: entry.freshUntilMs, seq: r.readSeq };
      }
    }
    if (storeError === undefined) this.#leasingReads.miss();
    return this.#resolved(r, this.#resolver.resolve(r.planWith(o), r.readSeq, stale, storeError !== undefined, r.span));
  };

  /** A leasing read found no entry: the caller took the lease (and fetches), or waits for its holder. */
  readonly #afterLease = <T, R>(r: GetOrSetRead<T, R>, state: LeaseState): Promise<R> => {
    this.#leasingReads.miss();
    return this.#resolved(r, this.#resolver.resolve(r.planWith(this.options), r.readSeq, null, false, r.span, { token: r.token, state }));
  };

  /** Counts and shapes what the resolver settled for a call that did not hit. */
  #resolved<T, R>(r: GetOrSetRead<T, R>, resolution: Promise<Outcome>): Promise<R> {
    return resolution.then(
      (out) => {
        if (out.status === 'miss') {
          this.#stats.miss(r.key);
        } else {
          this.#stats.hit(r.key);
          if (out.status === 'stale') this.#stats.staleAt(r.key, 0);
        }
        // Not a miss: the value came from the store (a write that beat this caller's lease, or stale).
        endWithOutcome(r.span, out.status, out.status === 'miss' ? undefined : 'l2');
        return r.shape(out.value as T, out.status);
      },
      (err: unknown) => {
        failed(r.span, err);
        r.span.end();
        throw err;
      },
    );
  }

  /**
   * Invalidates every value written under any of the tags, on every instance, and revokes the
   * leases taken under them. Cost: one atomic step over the tags, whatever the number of keys
   * (nothing is scanned). Rejects with a typed error if Redis fails.
   */
  invalidateTags(tags: string[]): Promise<void> {
    return this.#traced(SPAN.invalidateTags, undefined, () => this.#invalidateTags(tags));
  }

  async #invalidateTags(tags: string[]): Promise<void> {
    this.#assertOpen();
    const list = assertTags(tags);
    try {
      await this.store.invalidateTags(list);
      this.#l1?.dropTags(list);
    } catch (err) {
      throw this.#fail('invalidateTags', list[0], err);
    }
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
    return this.#traced(SPAN.invalidatePattern, undefined, (span) => this.#invalidatePatternByNode(pattern, options, span));
  }

  async #invalidatePatternByNode(pattern: string, options: { onProgress?: (deleted: number) => void }, span: Span): Promise<PatternDeletion> {
    this.#assertOpen();
    const full = prefixedKey(escapeGlob(this.options.prefix), pattern);
    const onProgress = options.onProgress;
    let total = 0;
    try {
      const r = await this.store.deletePattern(
        full,
        this.options.scanBatchSize,
        onProgress === undefined
          ? undefined
          : (n) => {
              total += n;
              onProgress(total);
            },
      );
      // Rare and unbounded: this instance's L1 is emptied rather than matched key by key (the
      // others evict each deleted key as Redis reports it).
      this.#l1?.tier.flush();
      this.#stats.deletes += r.deleted;
      count(span, ATTR.deleted, r.deleted);
      return r;
    } catch (err) {
      throw this.#fail('invalidatePattern', pattern, err);
    }
  }

  // ---- Operator reads (inspect.ts): for tools such as the CLI; Redis only, nothing written. ----

  /**
   * What is stored under key, decoded with this cache's serializer (never deleted, even when it
   * does not decode): its form, state, times, tags with their validity, the lease on it if a
   * fetch holds one, and its Redis TTL. Rejects with a typed error if Redis fails.
   */
  async inspect(key: string): Promise<EntryInspection> {
    this.#assertOpen();
    const full = this.#key(key);
    const store = this.store;
    if (store.inspect === undefined) throw redisOnly('inspect');
    let raw: RawInspection;
    try {
      raw = await store.inspect(full);
    } catch (err) {
      throw this.#fail('inspect', key, err);
    }
    const o = this.options;
    return describeInspection(key, full, raw, o.serializer, o.serializer === defaultSerializer, o.clock.now());
  }

  /**
   * The application keys under the prefix that match a glob pattern (as invalidatePattern would
   * select them), one SCAN step at a time, master after master; with each step, the leases on
   * such keys and the tag versions it met. A key written or deleted during the scan may or may
   * not be seen (SCAN's guarantee). Rejects with a typed error if Redis fails.
   */
  async *scanKeys(pattern = '*', options: { batchSize?: number } = {}): AsyncGenerator<KeyScanBatch> {
    this.#assertOpen();
    const prefix = this.options.prefix;
    const match = prefixedKey(escapeGlob(prefix), pattern);
    const store = this.store;
    if (store.scan === undefined) throw redisOnly('scanKeys');
    const exact = globToRegExp(match);
    try {
      for await (const batch of store.scan(`${match}*`, options.batchSize ?? this.options.scanBatchSize)) yield classifyScan(batch, prefix, exact);
    } catch (err) {
      throw this.#fail('scanKeys', pattern, err);
    }
  }

  /** Each master's INFO and how many in-process tiers listen to it. Rejects with a typed error if Redis fails. */
  async redisServers(): Promise<RedisServerInfo[]> {
    this.#assertOpen();
    const store = this.store;
    if (store.serverInfo === undefined) throw redisOnly('redisServers');
    try {
      return (await store.serverInfo()).map(serverInfoOf);
    } catch (err) {
      throw this.#fail('redisServers', undefined, err);
    }
  }

  /** Adds `by` to a counter; the first increment sets its TTL atomically. Rejects on Redis failure. */
  incr(key: string, by = 1, ttlSeconds: number = this.options.defaultCounterTtlSeconds): Promise<number> {
    return this.#traced(SPAN.incr, key, () => this.#incr(key, by, ttlSeconds));
  }

  async #incr(key: string, by: number, ttlSeconds: number): Promise<number> {
    this.#assertOpen();
    const full = this.#key(key);
    assertTtlSeconds(ttlSeconds);
    if (!Number.isSafeInteger(by)) throw new CacheError('E_INVALID_OPTIONS', `increment must be an integer, got ${by}`);
    try {
      const n = await this.store.incrBy(full, by, ttlToMs(ttlSeconds));
      this.#dropL1([full]);
      return n;
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

/** An operator read on the memory store: nothing outside this process could look at it. */
function redisOnly(method: string): InvalidOptionsError {
  return new InvalidOptionsError(`${method} needs Redis: the in-memory store is this process's own, with nothing for an operator to look at`);
}

export function createCache(options: CacheOptions = {}): Cache {
  return new Cache(options);
}
