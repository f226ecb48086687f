import type { LeaseState } from './store.ts';
import type { Span } from '@opentelemetry/api';

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

/** A fetched value, current as of store call `seq` (its fetch, or its write once that landed). */
export const missAt = (value: unknown, seq: number): Outcome => ({ value, status: 'miss', seq });

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

/**
 * The caller of a leased miss (Resolver.leased): the facade's GetOrSetRead, whose leasing read
 * took the lease. The resolver makes its answer from the fetched value, or fails it, without a
 * promise of an Outcome between them.
 */
export interface LeasedCaller<R> {
  /** The lease the read took. */
  readonly token: string;
  /** The call's getOrSet span. */
  readonly span: Span;
  /** Other calls of this process wait for this one's read (LeasingRead.followed): they join its resolution. */
  readonly followed: boolean;
  /** The call's answer with the value it fetched: counted as a miss, its span ended. */
  missed(value: unknown): R;
  /** Fails the call with err: its span failed and ended; throws err. */
  failed(err: unknown): never;
}
