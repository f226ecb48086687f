import type { StoredEntry } from '../entry.ts';
import { InvalidOptionsError, type CacheError } from '../errors.ts';
import type { ResolvedCacheOptions } from '../options.ts';
import type { StatsRecorder } from '../stats.ts';
import type { CacheStore } from '../store.ts';
import type { L1Tier } from '../tiers/l1.ts';
import type { Span } from '@opentelemetry/api';

/**
 * What the facade's calls other than getOrSet share (reads.ts, writes.ts, invalidation.ts,
 * operator.ts): the Cache holds one and passes it to each. getOrSet's hot path stays in the
 * Cache class itself (cache.ts), where its frames and closures are tuned.
 */
export interface FacadeParts {
  readonly options: ResolvedCacheOptions;
  readonly store: CacheStore;
  readonly stats: StatsRecorder;
  readonly l1: L1Tier | undefined;
  /** The prefixed key, checked (an InvalidKeyError for bad input, a cluster's slot rules). */
  key(key: string): string;
  /** Throws CacheClosedError once the cache is closed. */
  assertOpen(): void;
  /** Counts and reports a failure; with `span`, records it there too. */
  fail(operation: string, key: string | undefined, err: unknown, span?: Span): CacheError;
  /** The stored form of a value (serializer, size limit): throws the caller's input errors. */
  encode(key: string, value: unknown): string;
  /** The decoded value, or NO_VALUE when it does not decode (counted, reported, deleted). */
  decode(key: string, fullKey: string, entry: StoredEntry): unknown;
}

const NO_TAG_NAMES: readonly string[] = [];

/** Keeps a fresh value read from Redis in the in-process tier, if nothing invalidated it meanwhile. */
export function admitToL1(l1: L1Tier | undefined, full: string, ticket: number, value: unknown, entry: StoredEntry): void {
  const tags = entry.tags.length === 0 ? NO_TAG_NAMES : entry.tags.map((t) => t[0]);
  l1?.tier.admit(full, ticket, value, entry.freshUntilMs, entry.fetchMs, tags, entry.value.length);
}

/** An operator read on the memory store: nothing outside this process could look at it. */
export function redisOnly(method: string): InvalidOptionsError {
  return new InvalidOptionsError(`${method} needs Redis: the in-memory store is this process's own, with nothing for an operator to look at`);
}
