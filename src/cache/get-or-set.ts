import type { GetOrSetPlan } from './call-options.ts';
import { NO_VALUE } from './codec.ts';
import { randomToken, type StoredEntry } from './entry.ts';
import { CacheError, FactoryTimeoutError, FetchFailedError } from './errors.ts';
import { jitteredTtlMs } from './jitter.ts';
import type { ResolvedCacheOptions } from './options.ts';
import type { StatsRecorder } from './stats.ts';
import type { CacheStore } from './store.ts';

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

/** What the resolver needs from the facade. */
export interface ResolverHost {
  readonly store: CacheStore;
  readonly options: ResolvedCacheOptions;
  readonly stats: StatsRecorder;
  fail(operation: string, key: string | undefined, err: unknown): CacheError;
  encode(key: string, value: unknown): string;
  /** The decoded value, or NO_VALUE when it does not decode (counted, reported, deleted). */
  decode(key: string, full: string, entry: StoredEntry): unknown;
  /** Numbers every store call in the order it is issued. */
  nextSeq(): number;
  sleep(ms: number): Promise<void>;
  isClosed(): boolean;
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

type Race<T> = { kind: 'value'; value: T } | { kind: 'error'; error: unknown } | { kind: 'soft' } | { kind: 'hard' };

function race<T>(work: Promise<T>, softMs: number | undefined, hardMs: number | undefined): Promise<Race<T>> {
  if (softMs === undefined && hardMs === undefined) {
    return work.then((value) => ({ kind: 'value', value }), (error: unknown) => ({ kind: 'error', error }));
  }
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const done = (r: Race<T>): void => {
      for (const t of timers) clearTimeout(t);
      resolve(r);
    };
    work.then((value) => done({ kind: 'value', value }), (error: unknown) => done({ kind: 'error', error }));
    if (softMs !== undefined) timers.push(setTimeout(() => done({ kind: 'soft' }), softMs));
    if (hardMs !== undefined) timers.push(setTimeout(() => done({ kind: 'hard' }), hardMs));
  });
}

/** Errors in the caller's input: never hidden behind a stale value. */
function isInputError(err: unknown): boolean {
  return err instanceof CacheError && (err.code === 'E_UNDEFINED_VALUE' || err.code === 'E_SERIALIZE' || err.code === 'E_VALUE_TOO_LARGE');
}

const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 50;

/**
 * The miss path of getOrSet: leases, waiting for another instance's fetch, fetching under
 * timeouts, fail-safe, and early refresh. The hit path (one read) stays in the facade.
 */
export class Resolver {
  readonly #host: ResolverHost;
  readonly #inflight = new Map<string, Promise<Outcome>>();
  readonly #refreshing = new Set<string>();
  readonly #background = new Set<Promise<unknown>>();

  constructor(host: ResolverHost) {
    this.#host = host;
  }

  /** Resolves once every background refresh and write started so far has settled. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled(Array.from(this.#background));
  }

  #track(p: Promise<unknown>): void {
    const tracked = p.catch(() => undefined).finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }

  /** Decodes what the store returned; a value past grace or that fails to decode is no value. */
  found(key: string, full: string, entry: StoredEntry | null, nowMs: number, seq: number): Found | null {
    if (entry === null || nowMs >= entry.graceUntilMs) return null;
    const value = this.#host.decode(key, full, entry);
    if (value === NO_VALUE) return null;
    return { value, fresh: nowMs < entry.freshUntilMs, failSafe: entry.failSafe, freshUntilMs: entry.freshUntilMs, seq };
  }

  /**
   * A caller whose read (store call number `readSeq`) found no fresh value. Concurrent callers
   * in this process share one resolution, with one rule: a caller takes a shared outcome only
   * if that outcome was established by a store call issued after its own read (`seq > readSeq`).
   * The store applies calls in order, so such an outcome is no older than what the caller's own
   * read saw: if a write and its invalidation finished before this caller began, the shared
   * value was fetched after the invalidation, or was written under a lease the invalidation
   * would have revoked. Otherwise the caller waits for that resolution to end and starts its
   * own. Errors are always shared (an error is never stale data). A caller holding a stale
   * value of its own does not wait on a refresh already running here: it answers stale at once.
   */
  async resolve(plan: GetOrSetPlan<unknown>, readSeq: number, stale: Found | null, storeDown: boolean): Promise<Outcome> {
    for (;;) {
      const pending = this.#inflight.get(plan.full);
      if (pending === undefined) break;
      if (stale !== null) return { value: stale.value, status: 'stale', seq: stale.seq };
      this.#host.stats.coalesced++;
      const out = await pending;
      if (out.seq > readSeq) return out;
    }
    const run = this.#settle(plan, stale, storeDown);
    const shared: Promise<Outcome> = run.finally(() => {
      // Removed before joiners see the outcome, so one that must retry does not find it again.
      if (this.#inflight.get(plan.full) === shared) this.#inflight.delete(plan.full);
    });
    this.#inflight.set(plan.full, shared);
    return shared;
  }

  async #settle(plan: GetOrSetPlan<unknown>, staleFromRead: Found | null, storeDown: boolean): Promise<Outcome> {
    const h = this.#host;
    // Redis just failed: fetch, and write nothing (an unleased write could be a stale set).
    if (storeDown) return this.#fetch(plan, undefined, null, false);
    if (!plan.lease) return this.#fetch(plan, undefined, staleFromRead, true);
    const o = h.options;
    const token = randomToken();
    // lockWaitMs is measured on the cache's clock like every other library time, so under a
    // ManualClock (simulator) a waiter gives up only when simulated time passes; the pauses
    // between polls are real (host.sleep).
    const startedMs = o.clock.now();
    let delay = FIRST_POLL_MS;
    let waited = false;
    for (;;) {
      const seq = h.nextSeq();
      let r;
      try {
        r = await h.store.acquire(plan.full, { nowMs: o.clock.now(), token, leaseTtlMs: o.leaseTtlMs, mode: 'take', tags: plan.tags });
      } catch (err) {
        h.fail('getOrSet', plan.key, err);
        return this.#fetch(plan, undefined, null, false);
      }
      const now = o.clock.now();
      // Only what this call returned counts: the read's stale value may have been invalidated since.
      const f = this.found(plan.key, plan.full, r.entry, now, seq);
      if (f !== null && f.fresh) return { value: f.value, status: f.failSafe ? 'stale' : waited ? 'miss' : 'hit', seq };
      if (r.lease === 'acquired') return this.#fetch(plan, token, f, true);
      // Someone else is fetching. With a stale value, answer at once; otherwise wait for theirs.
      if (f !== null) return { value: f.value, status: 'stale', seq };
      const waitedMs = now - startedMs;
      if (waitedMs >= o.lockWaitMs) {
        h.stats.lockTimeouts++;
        return this.#fetch(plan, undefined, null, false);
      }
      if (!waited) h.stats.leaseWaits++;
      waited = true;
      // Exponential backoff with ±20 % jitter, so waiters on many instances do not poll in step.
      await h.sleep(Math.max(1, Math.min(delay, o.lockWaitMs - waitedMs) * (0.8 + 0.4 * Math.random())));
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
  }

  /**
   * Runs the fetcher. With `token`, the value is written only if the lease still holds; with
   * `write` false it is not written at all. `stale` is the fallback for soft time-out and
   * fail-safe.
   */
  async #fetch(plan: GetOrSetPlan<unknown>, token: string | undefined, stale: Found | null, write: boolean): Promise<Outcome> {
    const h = this.#host;
    const fetchSeq = h.nextSeq();
    const startedMs = h.options.clock.now();
    h.stats.fetches++;
    let abandoned = false;
    const work = (async (): Promise<Outcome> => {
      const value = await plan.fetcher();
      const commitSeq = write ? await this.#commit(plan, token, value, startedMs, () => abandoned) : null;
      return { value, status: 'miss', seq: Math.max(fetchSeq, commitSeq ?? 0) };
    })();
    const soft = stale !== null ? plan.softTimeoutMs : undefined;
    const hard = plan.hardTimeoutMs;
    const r = await race(work, soft, hard);
    if (r.kind === 'value') return r.value;
    if (r.kind === 'soft' && stale !== null) {
      // Answer stale now; the refresh goes on and is written if it still holds the lease.
      const hardLeft = hard === undefined ? undefined : Math.max(0, hard - (soft ?? 0));
      this.#track(
        race(work, undefined, hardLeft).then(async (late) => {
          if (late.kind === 'value') return;
          if (late.kind === 'hard') abandoned = true;
          const err = late.kind === 'hard' ? new FactoryTimeoutError(plan.key, hard ?? 0) : late.kind === 'error' ? late.error : undefined;
          await this.#onFailure(plan, token, stale, err).catch(() => undefined);
        }),
      );
      return { value: stale.value, status: 'stale', seq: stale.seq };
    }
    if (r.kind === 'hard') {
      abandoned = true;
      work.catch(() => undefined);
      return this.#onFailure(plan, token, stale, new FactoryTimeoutError(plan.key, hard ?? 0));
    }
    return this.#onFailure(plan, token, stale, r.kind === 'error' ? r.error : undefined);
  }

  /** Writes a fetched value; resolves the seq of the write if it landed, null if not. */
  async #commit(plan: GetOrSetPlan<unknown>, token: string | undefined, value: unknown, startedMs: number, abandoned: () => boolean): Promise<number | null> {
    const h = this.#host;
    const o = h.options;
    if (value === null && plan.negativeTtlSeconds === false) {
      if (token !== undefined) await this.#release(plan, token);
      return null;
    }
    const encoded = h.encode(plan.key, value);
    const now = o.clock.now();
    const ttlSeconds = value === null && plan.negativeTtlSeconds !== false ? Math.min(plan.negativeTtlSeconds, plan.ttlSeconds) : plan.ttlSeconds;
    const ttlMs = jitteredTtlMs(ttlSeconds, plan.jitter, o.random);
    if (abandoned() || h.isClosed()) return null;
    const seq = h.nextSeq();
    try {
      const entry = {
        key: plan.full,
        value: encoded,
        freshUntilMs: now + ttlMs,
        graceUntilMs: now + ttlMs + plan.graceMs,
        fetchMs: Math.max(0, now - startedMs),
        ttlMs: ttlMs + plan.graceMs,
        tags: plan.tags,
      };
      if (await h.store.commit(plan.full, token, entry)) {
        h.stats.sets++;
        return seq;
      }
      // The lease was revoked (del, pattern, tags, set) or taken over: this value may be stale.
      h.stats.staleWritesPrevented++;
      return null;
    } catch (err) {
      h.fail('set', plan.key, err);
      return null;
    }
  }

  /** Fail-safe: the stale value if there is one and it is still valid; else the error. */
  async #onFailure(plan: GetOrSetPlan<unknown>, token: string | undefined, stale: Found | null, err: unknown): Promise<Outcome> {
    const h = this.#host;
    if (stale === null || isInputError(err)) {
      if (token !== undefined) await this.#release(plan, token);
      throw err;
    }
    let kept = true;
    try {
      kept = await h.store.failSafe(plan.full, token, stale.freshUntilMs, h.options.clock.now() + h.options.failSafeRetryMs);
    } catch (e) {
      // Redis failed too: the stale value is still the best answer there is.
      h.fail('getOrSet', plan.key, e);
    }
    // Invalidated while the fetch ran: an invalidated value is never served.
    if (!kept) throw err;
    h.stats.failSafe++;
    h.fail('getOrSet', plan.key, new FetchFailedError(plan.key, { cause: err }));
    return { value: stale.value, status: 'stale', seq: stale.seq };
  }

  async #release(plan: GetOrSetPlan<unknown>, token: string): Promise<void> {
    try {
      await this.#host.store.release(plan.full, token);
    } catch (err) {
      // The lease expires by itself after leaseTtlMs.
      this.#host.fail('getOrSet', plan.key, err);
    }
  }

  /**
   * An XFetch early refresh, in the background: the caller already has its (fresh) value. One
   * per key per process; across processes the lease keeps it to one.
   */
  refreshEarly(plan: GetOrSetPlan<unknown>): void {
    if (this.#refreshing.has(plan.full) || this.#inflight.has(plan.full)) return;
    this.#refreshing.add(plan.full);
    const h = this.#host;
    const run = async (): Promise<void> => {
      if (h.isClosed()) return;
      let token: string | undefined;
      if (plan.lease) {
        token = randomToken();
        const r = await h.store.acquire(plan.full, {
          nowMs: h.options.clock.now(),
          token,
          leaseTtlMs: h.options.leaseTtlMs,
          mode: 'early',
          tags: plan.tags,
        });
        if (r.lease !== 'acquired') return;
      }
      h.stats.earlyRefreshes++;
      await this.#fetch(plan, token, null, true);
    };
    this.#track(
      run()
        .catch((err: unknown) => {
          h.fail('refresh', plan.key, err instanceof CacheError ? err : new FetchFailedError(plan.key, { cause: err }));
        })
        .finally(() => this.#refreshing.delete(plan.full)),
    );
  }
}
