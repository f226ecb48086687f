import { InvalidOptionsError } from './errors.ts';
import type { ResolvedCacheOptions } from './options.ts';
import { booleanOf, graceOf, jitterOf, negativeTtlOf, nonNegative, positive } from './options.ts';
import { assertTags } from './tags.ts';
import { assertTtlSeconds, ttlToMs } from './ttl.ts';
import type { EntryWrite } from './entry.ts';

/** The options form of the third argument of `set`/`setMany`. */
export interface SetOptions {
  /** Seconds until the value is stale. */
  ttl: number;
  /** Tags the value belongs to; `invalidateTags` on any of them removes it. Default none. */
  tags?: string[];
  /** Seconds the value is kept past `ttl` for `getOrSet` to serve stale. Default: the cache's `graceSeconds`. */
  graceSeconds?: number | false;
}

/** The options form of the third argument of `getOrSet`. Absent fields take the cache's defaults (CacheOptions). */
export interface GetOrSetOptions extends SetOptions {
  /** Cache the fetcher's `null` this many seconds, or `false` not to cache it. */
  negativeTtlSeconds?: number | false;
  /** Take a lease on a miss (see CacheOptions.leases). */
  lease?: boolean;
  /** With a stale value at hand, answer with it after this many ms. */
  softTimeoutMs?: number;
  /** Give up on the fetcher after this many ms. */
  hardTimeoutMs?: number;
  /** Refresh early, in the background, as expiry nears (XFetch). */
  earlyRefresh?: boolean;
  /** TTL jitter as a fraction: 0.1 = ±10 %. */
  jitter?: number;
  /** Serve from and keep in the in-process tier when the cache has one (CacheOptions.l1). Default true; `false` for values that must come from Redis every time (a balance). */
  l1?: boolean;
}

/** The third argument of `set`/`getOrSet`: seconds, or an options object. */
export type TtlArg = number | SetOptions;

const NO_TAGS: readonly string[] = [];

/** What `set` needs from its third argument, validated. */
export interface SetPlan {
  ttlSeconds: number;
  graceMs: number;
  tags: readonly string[];
}

export function setPlanOf(arg: TtlArg, o: ResolvedCacheOptions): SetPlan {
  if (typeof arg === 'number') {
    assertTtlSeconds(arg);
    return { ttlSeconds: arg, graceMs: o.graceSeconds * 1000, tags: NO_TAGS };
  }
  if (arg === null || typeof arg !== 'object') throw new InvalidOptionsError('the third argument must be seconds or an options object');
  assertTtlSeconds(arg.ttl);
  const tags = arg.tags === undefined ? NO_TAGS : assertTags(arg.tags);
  return { ttlSeconds: arg.ttl, graceMs: graceOf('graceSeconds', arg.graceSeconds, o.graceSeconds) * 1000, tags };
}

/** What `set` stores: exactly the TTL given (no jitter), kept for TTL + grace. */
export function entryWriteOf(full: string, encoded: string, plan: SetPlan, nowMs: number): EntryWrite {
  const ttlMs = ttlToMs(plan.ttlSeconds);
  return {
    key: full,
    value: encoded,
    freshUntilMs: nowMs + ttlMs,
    graceUntilMs: nowMs + ttlMs + plan.graceMs,
    fetchMs: 0,
    ttlMs: ttlMs + plan.graceMs,
    tags: plan.tags,
  };
}

/** One getOrSet call with every option resolved against the cache's defaults. */
export interface GetOrSetPlan<T> extends SetPlan {
  key: string;
  full: string;
  fetcher: () => Promise<T> | T;
  negativeTtlSeconds: number | false;
  lease: boolean;
  softTimeoutMs: number | undefined;
  hardTimeoutMs: number | undefined;
  earlyRefresh: boolean;
  jitter: number;
  l1: boolean;
}

/**
 * Validates the whole argument up front, so a bad option throws on every call (hit or miss)
 * rather than only on the first miss.
 */
export function getOrSetPlanOf<T>(key: string, full: string, fetcher: () => Promise<T> | T, arg: number | GetOrSetOptions, o: ResolvedCacheOptions): GetOrSetPlan<T> {
  const base = setPlanOf(arg, o);
  if (typeof fetcher !== 'function') throw new InvalidOptionsError('fetcher must be a function');
  // Built field by field: this runs on every hit, and object spread compiles to a slow helper.
  const plan: GetOrSetPlan<T> = {
    key,
    full,
    fetcher,
    ttlSeconds: base.ttlSeconds,
    graceMs: base.graceMs,
    tags: base.tags,
    negativeTtlSeconds: o.negativeTtlSeconds,
    lease: o.leases,
    softTimeoutMs: o.softTimeoutMs,
    hardTimeoutMs: o.hardTimeoutMs,
    earlyRefresh: o.earlyRefresh,
    jitter: o.jitter,
    l1: true,
  };
  if (typeof arg === 'number') return plan;
  plan.negativeTtlSeconds = negativeTtlOf('negativeTtlSeconds', arg.negativeTtlSeconds, o.negativeTtlSeconds);
  plan.lease = booleanOf('lease', arg.lease, o.leases);
  plan.softTimeoutMs = nonNegative('softTimeoutMs', arg.softTimeoutMs, o.softTimeoutMs);
  plan.hardTimeoutMs = arg.hardTimeoutMs === undefined ? o.hardTimeoutMs : positive('hardTimeoutMs', arg.hardTimeoutMs, 1);
  plan.earlyRefresh = booleanOf('earlyRefresh', arg.earlyRefresh, o.earlyRefresh);
  plan.jitter = jitterOf('jitter', arg.jitter, o.jitter);
  plan.l1 = booleanOf('l1', arg.l1, true);
  return plan;
}
