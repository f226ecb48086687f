import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { InvalidOptionsError } from './errors.ts';
import type { RedisClientOfAnyVersion } from './topology/clients.ts';
import { resolveTopology, type ClusterOptions, type SentinelOptions } from './topology/options.ts';
import type { CacheErrorEvent, CacheLogger } from './reporter.ts';
import type { Serializer } from './serializer.ts';
import { resolveL1Options, type L1Options, type ResolvedL1Options } from './tiers/l1.ts';
import { defaultSerializer } from './serializer.ts';
import { resolveTracingOptions, type ResolvedTracingOptions, type TracingOptions } from './tracing.ts';

/** Options of `createCache`. Every field is optional; defaults are listed on each. */
export interface CacheOptions {
  /**
   * A `redis://` / `rediss://` URL, or a node-redis 5 or 6 client: `createClient`, `createCluster`
   * (5.1.1 or later) or `createSentinel`, connected or not (README, "Supported node-redis
   * versions"; node-redis 4 is refused). A client you pass stays yours: `close()` does not quit
   * it. Absent (and no `cluster` or `sentinel`): the bounded in-memory store (development and
   * tests).
   */
  redis?: string | RedisClientOfAnyVersion;
  /** Redis Cluster: the cache creates a cluster client over these nodes. Instead of `redis`. */
  cluster?: ClusterOptions;
  /** Redis Sentinel: the cache asks these sentinels for the master. Instead of `redis`. */
  sentinel?: SentinelOptions;
  /** Prepended to every key, and the only part of the keyspace `invalidatePattern` touches. Default `''`. */
  prefix?: string;
  /** Deadline of every Redis call, in ms. Default 500. */
  commandTimeoutMs?: number;
  /** Deadline of the TCP/TLS connect and handshake when the cache creates the client, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Largest encoded value accepted, in bytes. Default 1 MiB (1,048,576). */
  maxValueBytes?: number;
  /** TTL of a counter created by `incr`/`decr` without one, in seconds. Default 86,400 (1 day). */
  defaultCounterTtlSeconds?: number;
  /** Keys per SCAN step and per UNLINK batch in `invalidatePattern`. Default 500. */
  scanBatchSize?: number;
  /**
   * Replicas that must have an invalidation (`del`, `invalidatePattern`, `invalidateTags`), and a
   * getOrSet's lease-checked write, before it resolves: Redis replicates asynchronously, so without this a `DEL` the master acknowledged
   * can be lost in a failover and the old value served again until its TTL (DESIGN.md). The cache
   * sends invalidations on a connection of their own and `WAIT`s; too few acknowledgements within
   * `invalidationReplicaTimeoutMs` reject with ReplicationTimeoutError (counted in
   * `replicationTimeouts`), so the caller retries. Default 0 (no wait).
   */
  invalidationReplicas?: number;
  /** How long an invalidation waits for its replicas, in ms; below `commandTimeoutMs`. Default 100. */
  invalidationReplicaTimeoutMs?: number;
  /** Consecutive Redis time-outs that open the circuit breaker. Default 3. */
  breakerThreshold?: number;
  /** How long an open circuit answers at once before probing Redis again, in ms. Default 1000. */
  breakerCooldownMs?: number;
  /** In-memory store bounds: entries (default 10,000) and bytes (default 64 MiB). */
  memory?: { maxEntries?: number; maxBytes?: number };
  /**
   * The in-process tier in front of Redis (README, "The in-process tier"): decoded values of
   * recent hits, kept coherent by Redis's client-side caching invalidations on a connection of
   * its own, emptied and bypassed whenever that connection cannot be trusted. `{}` for the
   * defaults; per call, `getOrSet(key, fetcher, { ttl, l1: false })` skips it. On one Redis,
   * a Cluster (a channel per master) or Sentinel (a channel to the master); a node-redis
   * Sentinel client passed in also needs `l1.sentinelNodeClient`. Ignored by the in-memory store. Default: off.
   */
  l1?: L1Options | false;
  /**
   * OpenTelemetry spans, one per call (README, "Traces"), through `@opentelemetry/api`: no-ops
   * until the application registers an SDK. `enabled` (default `true`); `tracerProvider`
   * (default: the global one); `recordKeys`, the caller's key as `cache.key` (default `false`:
   * keys often hold user ids; the namespace is always recorded).
   */
  tracing?: TracingOptions;
  /** Where failures are logged, rate-limited (pino-compatible). Default: not logged. */
  logger?: CacheLogger;
  /** Called for every failure, unthrottled. Default: none. */
  onError?: (event: CacheErrorEvent) => void;
  /** At most one log line per error code per this many ms. Default 10,000. */
  logIntervalMs?: number;
  /** Time source for everything the library times itself. Default: `Date.now`. */
  clock?: Clock;
  /** Value encoding. Default: JSON with Date/BigInt/Map/Set tags (see serializer.ts). */
  serializer?: Serializer;
  /**
   * Random source in [0, 1) for TTL jitter and early refresh, injectable so tests and the
   * simulator are reproducible. Lease tokens never use it (they must be unique across
   * processes). Default `Math.random`.
   */
  random?: () => number;

  // ---- getOrSet defaults (each can be overridden per call in GetOrSetOptions) ----

  /**
   * Leases (see DESIGN.md): on a miss, `getOrSet` takes a lease on the key before fetching and
   * writes the value only while it still holds it, so a value fetched before a `del`,
   * `invalidatePattern` or `invalidateTags` is never written after it; callers on other
   * instances wait for the holder instead of fetching. Off: plain cache-aside, one round trip
   * less on a miss and none of those guarantees. Default `true`.
   */
  leases?: boolean;
  /**
   * Leasing reads, for misses: a `getOrSet` read sent as `SET <key> <lease> NX PX … GET`, which
   * returns the entry like a GET and, when the key holds nothing, takes the lease in the same
   * command, so a miss is two commands (that, then the lease-checked write) instead of three.
   * - `'auto'` (default): while most of this instance's recent `getOrSet` reads miss (a cold
   *   cache after a deploy or a flush, or a miss-heavy workload); plain GETs otherwise.
   * - `'always'`, `'never'`.
   * A leasing read is a write command: a hit through one costs Redis a little more CPU than a
   * GET, and under `maxmemory` with `noeviction` Redis refuses it when full (the read is then
   * sent as a GET and leasing reads pause for 10 s). Only calls with leases on and no tags use
   * it. Needs Redis ≥ 7.0; an older one gets plain GETs.
   */
  leasingReads?: 'auto' | 'always' | 'never';
  /**
   * How long a lease lasts, in ms. A holder that crashes blocks nobody past this; a fetch that
   * takes longer loses its lease and its value is not written (it is still returned). Keep it
   * above your slowest fetch and above `hardTimeoutMs`. Default 5,000.
   */
  leaseTtlMs?: number;
  /**
   * How long a caller that misses while another caller holds the lease waits for that value
   * (polling with backoff from 5 to 50 ms), in ms. After it, the caller serves the stale value
   * if there is one, or else runs the fetcher itself without writing. Default 2,000.
   */
  lockWaitMs?: number;
  /**
   * Seconds a value is kept past its TTL to be served stale by `getOrSet` (flagged `'stale'`)
   * while one caller refreshes it, and to fall back on when the fetcher fails (fail-safe).
   * `false` and 0 both mean off. Default 0 (off): serving stale data is a decision about the
   * data, so each call site opts in (a leaderboard may be a minute old, a balance may not).
   */
  graceSeconds?: number | false;
  /**
   * After a refresh fails and the stale value is served instead (fail-safe), how long, in ms,
   * before the next refresh is tried; callers meanwhile get the stale value at once instead of
   * hammering a failing database. Default 5,000.
   */
  failSafeRetryMs?: number;
  /**
   * Seconds a fetcher's `null` ("does not exist") is cached, so a flood of lookups for missing
   * ids does not reach the database; never longer than the call's TTL. `false`: `null` is
   * returned but not cached. Default 30.
   */
  negativeTtlSeconds?: number | false;
  /**
   * TTL jitter of values `getOrSet` writes, as a fraction: 0.1 spreads each TTL uniformly over
   * ±10 %, so keys written together do not expire together. 0 turns it off; must be below 1.
   * `set` never jitters (its caller chose an exact TTL). Default 0.1.
   */
  jitter?: number;
  /**
   * Probabilistic early refresh (XFetch, Vattani et al., VLDB 2015): a hit close to expiry
   * refreshes the value in the background with a probability that rises as expiry nears,
   * scaled by how long the last fetch took, so hot keys are refreshed before they expire.
   * Default `true`.
   */
  earlyRefresh?: boolean;
  /** XFetch's β: above 1 refreshes earlier, below 1 later. Default 1. */
  earlyRefreshBeta?: number;
  /**
   * With a stale value at hand, answer with it after this many ms and let the refresh finish
   * (and be written, if it still holds the lease) in the background. 0: answer stale at once.
   * Default: none (the refreshing caller waits for the fetcher).
   */
  softTimeoutMs?: number;
  /**
   * Give up on a fetcher after this many ms: serve the stale value if there is one
   * (fail-safe), otherwise reject with FactoryTimeoutError (`E_FACTORY_TIMEOUT`). A late result
   * is discarded. Timed with the real timer, not `clock`. Default: none.
   */
  hardTimeoutMs?: number;
}

export interface ResolvedCacheOptions {
  redis: string | RedisClientOfAnyVersion | undefined;
  cluster: Required<ClusterOptions> | undefined;
  sentinel: SentinelOptions | undefined;
  prefix: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  maxValueBytes: number;
  defaultCounterTtlSeconds: number;
  scanBatchSize: number;
  invalidationReplicas: number;
  invalidationReplicaTimeoutMs: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
  memory: { maxEntries: number; maxBytes: number };
  l1: ResolvedL1Options | undefined;
  tracing: ResolvedTracingOptions;
  logger: CacheLogger | undefined;
  onError: ((event: CacheErrorEvent) => void) | undefined;
  logIntervalMs: number;
  clock: Clock;
  serializer: Serializer;
  random: () => number;
  leases: boolean;
  leasingReads: 'auto' | 'always' | 'never';
  leaseTtlMs: number;
  lockWaitMs: number;
  graceSeconds: number;
  failSafeRetryMs: number;
  negativeTtlSeconds: number | false;
  jitter: number;
  earlyRefresh: boolean;
  earlyRefreshBeta: number;
  softTimeoutMs: number | undefined;
  hardTimeoutMs: number | undefined;
}

export function positive(name: string, value: number | undefined, fallback: number, integer = true): number {
  // `??`, never `||`: an explicit 0 must reach the check below and be refused, not replaced.
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new InvalidOptionsError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
  return v;
}

/** A number ≥ 0, or undefined when neither the value nor a fallback is given. */
export function nonNegative(name: string, value: number | undefined, fallback?: number): number | undefined {
  const v = value ?? fallback;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidOptionsError(`${name} must be a finite number ≥ 0, got ${String(value)}`);
  }
  return v;
}

/** Seconds of grace: `false` means 0. */
export function graceOf(name: string, value: number | false | undefined, fallback: number): number {
  if (value === false) return 0;
  return nonNegative(name, value, fallback) ?? 0;
}

/** Seconds a cached null lives, or false (not cached). */
export function negativeTtlOf(name: string, value: number | false | undefined, fallback: number | false): number | false {
  const v = value ?? fallback;
  if (v === false) return false;
  return positive(name, v, 30, false);
}

export function jitterOf(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v >= 1) {
    throw new InvalidOptionsError(`${name} must be a fraction in [0, 1), got ${String(value)}`);
  }
  return v;
}

export function booleanOf(name: string, value: boolean | undefined, fallback: boolean): boolean {
  const v = value ?? fallback;
  if (typeof v !== 'boolean') throw new InvalidOptionsError(`${name} must be a boolean`);
  return v;
}

function leasingReadsOf(v: CacheOptions['leasingReads']): 'auto' | 'always' | 'never' {
  if (v === undefined) return 'auto';
  if (v !== 'auto' && v !== 'always' && v !== 'never') throw new InvalidOptionsError(`leasingReads must be 'auto', 'always' or 'never', got ${JSON.stringify(v)}`);
  return v;
}

function randomOf(random: (() => number) | undefined): () => number {
  if (random === undefined) return Math.random;
  if (typeof random !== 'function') throw new InvalidOptionsError('random must be a function returning [0, 1)');
  return random;
}

function replicasOf(options: CacheOptions): { invalidationReplicas: number; invalidationReplicaTimeoutMs: number } {
  const replicas = options.invalidationReplicas ?? 0;
  if (!Number.isSafeInteger(replicas) || replicas < 0) throw new InvalidOptionsError(`invalidationReplicas must be an integer ≥ 0, got ${String(options.invalidationReplicas)}`);
  const timeoutMs = positive('invalidationReplicaTimeoutMs', options.invalidationReplicaTimeoutMs, 100);
  const commandTimeoutMs = options.commandTimeoutMs ?? 500;
  // The WAIT runs under the command deadline: a longer wait would count as a dead server.
  if (timeoutMs >= commandTimeoutMs) throw new InvalidOptionsError(`invalidationReplicaTimeoutMs (${timeoutMs}) must be below commandTimeoutMs (${commandTimeoutMs})`);
  return { invalidationReplicas: replicas, invalidationReplicaTimeoutMs: timeoutMs };
}

function l1Of(l1: L1Options | false | undefined): ResolvedL1Options | undefined {
  if (l1 !== undefined && l1 !== false && (typeof l1 !== 'object' || l1 === null)) throw new InvalidOptionsError('l1 must be an options object ({} for the defaults) or false');
  const resolved = resolveL1Options(l1, positive, process.env.NODE_ENV === 'production');
  if (resolved !== undefined && resolved.channelTimeoutMs <= resolved.heartbeatMs) throw new InvalidOptionsError('l1.channelTimeoutMs must be longer than l1.heartbeatMs');
  return resolved;
}

/** Applies defaults and validates, once, at construction. */
export function resolveOptions(options: CacheOptions = {}): ResolvedCacheOptions {
  const topology = resolveTopology(options);
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string') throw new InvalidOptionsError('prefix must be a string');
  // A script takes a NUL-led argument in place of the tag prefix for versions given by the store (scripts.ts).
  if (prefix.includes('\u0000')) throw new InvalidOptionsError('prefix must not hold a NUL character');
  return {
    ...topology,
    prefix,
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs, 500),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 5000),
    maxValueBytes: positive('maxValueBytes', options.maxValueBytes, 1024 * 1024),
    defaultCounterTtlSeconds: positive('defaultCounterTtlSeconds', options.defaultCounterTtlSeconds, 86_400, false),
    scanBatchSize: positive('scanBatchSize', options.scanBatchSize, 500),
    ...replicasOf(options),
    breakerThreshold: positive('breakerThreshold', options.breakerThreshold, 3),
    breakerCooldownMs: positive('breakerCooldownMs', options.breakerCooldownMs, 1000),
    memory: {
      maxEntries: positive('memory.maxEntries', options.memory?.maxEntries, 10_000),
      maxBytes: positive('memory.maxBytes', options.memory?.maxBytes, 64 * 1024 * 1024),
    },
    l1: l1Of(options.l1),
    tracing: resolveTracingOptions(options.tracing),
    logger: options.logger,
    onError: options.onError,
    logIntervalMs: positive('logIntervalMs', options.logIntervalMs, 10_000),
    clock: options.clock ?? systemClock,
    serializer: options.serializer ?? defaultSerializer,
    random: randomOf(options.random),
    leases: booleanOf('leases', options.leases, true),
    leasingReads: leasingReadsOf(options.leasingReads),
    leaseTtlMs: positive('leaseTtlMs', options.leaseTtlMs, 5_000),
    lockWaitMs: nonNegative('lockWaitMs', options.lockWaitMs, 2_000) ?? 2_000,
    graceSeconds: graceOf('graceSeconds', options.graceSeconds, 0),
    failSafeRetryMs: positive('failSafeRetryMs', options.failSafeRetryMs, 5_000),
    negativeTtlSeconds: negativeTtlOf('negativeTtlSeconds', options.negativeTtlSeconds, 30),
    jitter: jitterOf('jitter', options.jitter, 0.1),
    earlyRefresh: booleanOf('earlyRefresh', options.earlyRefresh, true),
    earlyRefreshBeta: positive('earlyRefreshBeta', options.earlyRefreshBeta, 1, false),
    softTimeoutMs: nonNegative('softTimeoutMs', options.softTimeoutMs),
    hardTimeoutMs: options.hardTimeoutMs === undefined ? undefined : positive('hardTimeoutMs', options.hardTimeoutMs, 1),
  };
}
