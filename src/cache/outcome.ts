import type { LeaseState } from './store.ts';

/** Where a getOrSet value came from: the cache, the fetcher, or the cache past its TTL (within grace). */
export type CacheStatus = 'hit' | 'miss' | 'stale';

/**
 * A settled getOrSet, with `seq`: the point in this process's sequence of store calls from which
 * the value is known to be current (see `Resolver.resolve`).
 */
export interface Outcome {
  value: unknown;
  status: CacheStatus;
  seq: number;
}

/** A decoded value the store returned, with what the resolver needs to judge it. */
export interface Found {
  value: unknown;
  fresh: boolean;
  failSafe: boolean;
  freshUntilMs: number;
  /** The store call that returned it. */
  seq: number;
}

/** What a leasing read (CacheStore.readOrLease) that found no entry did: the lease it took, or that another caller holds one. */
export interface ReadLease {
  readonly token: string;
  readonly state: LeaseState;
}
