import type { Span } from '@opentelemetry/api';
import { getOrSetPlanOf, type GetOrSetOptions, type GetOrSetPlan } from './call-options.ts';
import type { StoredEntry } from './entry.ts';
import type { CacheError } from './errors.ts';
import type { CacheStatus, LeasedCaller } from './outcome.ts';
import type { ResolvedCacheOptions } from './options.ts';
import type { LeaseState, LeasingRead } from './store.ts';

/** What getOrSet hands its caller: the value, or the value with its status (getOrSetWithMeta). */
export type Shape<T, R> = (value: T, status: CacheStatus) => R;

export type AfterRead = <T, R>(r: GetOrSetRead<T, R>, entry: StoredEntry | null, storeError: CacheError | undefined) => R | Promise<R>;
export type AfterLease = <T, R>(r: GetOrSetRead<T, R>, state: LeaseState) => R | Promise<R>;

/**
 * What the facade does with a read's outcome: an entry (or a failure), or a leasing read's lease;
 * and, for a read that took the lease, the call's answer with the value it fetched, or its
 * failure (LeasedCaller).
 */
export interface ReadHandlers {
  readonly afterRead: AfterRead;
  readonly afterLease: AfterLease;
  readonly missed: <T, R>(r: GetOrSetRead<T, R>, value: unknown) => R;
  readonly failed: <T, R>(r: GetOrSetRead<T, R>, err: unknown) => never;
}

/**
 * One getOrSet call's state from its read on: the only object a hit allocates (see Guard.watch).
 * Sent as a plain read (`CacheStore.read`) or, with `token` set, a leasing read
 * (`CacheStore.readOrLease`).
 */
export class GetOrSetRead<T, R> implements LeasingRead<R>, LeasedCaller<R> {
  readonly tags: readonly string[] | undefined;
  /** The lease token of a leasing read; '' for a plain read. */
  token = '';
  leaseTtlMs = 0;
  followed = false;
  constructor(
    readonly handlers: ReadHandlers,
    readonly key: string,
    readonly fullKey: string,
    readonly fetcher: () => Promise<T> | T,
    readonly ttlOrOptions: number | GetOrSetOptions,
    readonly plan: GetOrSetPlan<T> | undefined,
    /** Where the read falls in this process's sequence of store calls (see Resolver.resolve). */
    readonly readSeq: number,
    readonly shape: Shape<T, R>,
    /** The in-process tier's ticket for this read (MemoryTier.ticket), or -1: not to be kept there. */
    readonly l1Ticket: number,
    /** This call's span (tracing.ts), ended where the call settles. */
    readonly span: Span,
  ) {
    this.tags = plan?.tags;
  }
  /** The full plan: given (options object), or built now from a number TTL (a miss, an early refresh). */
  planWith(options: ResolvedCacheOptions): GetOrSetPlan<T> {
    return this.plan ?? getOrSetPlanOf(this.key, this.fullKey, this.fetcher, this.ttlOrOptions, options);
  }
  onEntry(entry: StoredEntry | null): R | Promise<R> {
    return this.handlers.afterRead(this, entry, undefined);
  }
  onError(err: CacheError): R | Promise<R> {
    return this.handlers.afterRead(this, null, err);
  }
  onLease(state: LeaseState): R | Promise<R> {
    return this.handlers.afterLease(this, state);
  }
  missed(value: unknown): R {
    return this.handlers.missed(this, value);
  }
  failed(err: unknown): never {
    return this.handlers.failed(this, err);
  }
}

/** Fixed-point scale of the miss share (1 = all misses). */
const SCALE = 1 << 16;
/** Leasing reads start above this share of misses among recent reads, and stop below LEAVE. */
const ENTER = SCALE * 0.6;
const LEAVE = SCALE * 0.35;

/**
 * When getOrSet sends leasing reads (CacheOptions.leasingReads): with `'auto'`, while the share
 * of misses among this instance's recent getOrSet reads from Redis (an exponentially weighted
 * average over about the last 32) is high. A leasing read saves a miss its separate lease
 * command and costs a hit a little Redis CPU, so it pays while misses dominate: a cold cache
 * after a deploy or a flush, or a workload of mostly distinct keys. The gap between ENTER and
 * LEAVE keeps a share near the line from switching back and forth. Two integer operations per
 * read: the hit path is measured in nanoseconds.
 */
export class LeasingReadPolicy {
  #missShare = 0;
  #on: boolean;
  readonly #auto: boolean;

  constructor(mode: 'auto' | 'always' | 'never') {
    this.#on = mode === 'always';
    this.#auto = mode === 'auto';
  }

  /** Whether the next eligible read leases. */
  get on(): boolean {
    return this.#on;
  }

  /** A read found a fresh value. */
  hit(): void {
    if (!this.#auto) return;
    this.#missShare -= this.#missShare >> 5;
    if (this.#on && this.#missShare < LEAVE) this.#on = false;
  }

  /** A read found no fresh value. */
  miss(): void {
    if (!this.#auto) return;
    this.#missShare += (SCALE - this.#missShare) >> 5;
    if (!this.#on && this.#missShare > ENTER) this.#on = true;
  }
}
