import type { GetOrSetPlan } from './call-options.ts';
import { NO_VALUE } from './codec.ts';
import { randomToken, type StoredEntry } from './entry.ts';
import { CacheError, FactoryTimeoutError, FetchFailedError } from './errors.ts';
import type { FacadeParts } from './facade/parts.ts';
import { failSafeOutcome, releaseLease } from './fetch-failure.ts';
import { race, type Race } from './fetch-race.ts';
import { finalOf, LeasedResolution, type InFlight } from './in-flight.ts';
import { KeyTable } from './key-table.ts';
import { leaseOrWait, type LeaseWaiter } from './lease-wait.ts';
import { missAt, type Found, type LeasedCaller, type Outcome, type ReadLease } from './outcome.ts';
import { ATTR, flag, NO_SPAN, SPAN, type CacheTracer } from './tracing.ts';
import { ValueWrites, type WriteHost } from './value-writes.ts';
import type { Span } from '@opentelemetry/api';

/** What the resolver needs from the facade: what its writes need (value-writes.ts), and its own. */
export interface ResolverHost extends WriteHost, Pick<FacadeParts, 'decode'> {
  readonly tracer: CacheTracer;
  sleep(ms: number): Promise<void>;
}

/**
 * A resolution as the resolver runs it: `outcome` for the caller that started it, as soon as
 * the value is known; `final` for callers of this process that joined it, once the value's write
 * settled (whether it landed decides whether they may take it: see resolve).
 */
interface Settled {
  outcome: Outcome;
  final: Promise<Outcome>;
  /** `final` has settled: the caller's outcome already waited for the write (or there was none). */
  landed: boolean;
}

/** Whether v has a `then` method: what a promise (of any library) resolves through. */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
const ignore = (): void => {};
const notAbandoned = (): boolean => false;
/** Resolver.leased's caller is to be answered once the write has settled, not at once. */
const NOT_ANSWERED: unique symbol = Symbol('not answered');

const settledNow = (outcome: Outcome): Settled => ({ outcome, final: Promise.resolve(outcome), landed: true });

/**
 * The miss path of getOrSet: leases, waiting for another instance's fetch, fetching under
 * timeouts, fail-safe, and early refresh. The hit path (one read) stays in the facade.
 */
export class Resolver {
  readonly #host: ResolverHost;
  /** The fetches in flight by key, for calls of this process to join (a KeyTable: see why there). */
  readonly #inflight = new KeyTable<InFlight>();
  readonly #refreshing = new Set<string>();
  readonly #background = new Set<Promise<unknown>>();
  /** The writes of fetched values (value-writes.ts). */
  readonly #writes: ValueWrites;

  /** How leaseOrWait (lease-wait.ts) fetches and judges what the store returned: as this resolver does. */
  readonly #leaseWaiter: LeaseWaiter<Settled>;

  constructor(host: ResolverHost) {
    this.#host = host;
    this.#writes = new ValueWrites(host);
    this.#leaseWaiter = {
      host,
      fetch: (plan, token, stale, write, span, marker) => this.#fetch(plan, token, stale, write, span, marker),
      found: (key, full, entry, nowMs, seq) => this.found(key, full, entry, nowMs, seq),
      answer: settledNow,
    };
  }

  /** Resolves once every background refresh and write started so far has settled. */
  async idle(): Promise<void> {
    while (this.#background.size > 0 || this.#writes.pending > 0) {
      await Promise.allSettled(Array.from(this.#background));
      await this.#writes.drained();
    }
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
   * `span` is the caller's getOrSet span: how the call got its value is flagged there.
   * `lease`: the caller's read was a leasing read (CacheStore.readOrLease) and found no entry: it
   * took the lease (and then fetches, joining nobody: it is the one others wait for), or another
   * caller holds it.
   */
  resolve(plan: GetOrSetPlan<unknown>, readSeq: number, stale: Found | null, storeDown: boolean, span: Span = NO_SPAN, lease?: ReadLease): Promise<Outcome> {
    // Not an async function: a miss nobody here is resolving yet (the common one) returns the
    // resolution's own promise, without an async wrapper resolving to it (two more promise jobs).
    // A lease this caller took (its read's): it fetches at once, joining nobody (it is the one
    // others wait for). Without a hard time-out the facade sends it to `leased` instead.
    if (lease?.state !== 'acquired' && this.#inflight.has(plan.full)) return this.#join(plan, readSeq, stale, storeDown, span, lease);
    return this.#start(plan, stale, storeDown, span, lease);
  }

  /** A caller that found a resolution of its key running in this process (see resolve). */
  async #join(plan: GetOrSetPlan<unknown>, readSeq: number, stale: Found | null, storeDown: boolean, span: Span, lease: ReadLease | undefined): Promise<Outcome> {
    for (;;) {
      const pending = this.#inflight.get(plan.full);
      if (pending === undefined) break;
      // A refresh is running: a caller with a stale value answers with it. Once the value is
      // known and only its write is in flight, everyone waits for the write (a round trip).
      if (stale !== null && !pending.answered) return { value: stale.value, status: 'stale', seq: stale.seq };
      this.#host.stats.coalesced++;
      flag(span, ATTR.coalesced);
      const out = await (pending.final ?? pending.known.then(() => finalOf(pending)));
      if (out.seq > readSeq) return out;
    }
    return this.#start(plan, stale, storeDown, span, lease);
  }

  /** Starts this process's resolution of the key, which callers arriving meanwhile join. */
  #start(plan: GetOrSetPlan<unknown>, stale: Found | null, storeDown: boolean, span: Span, lease: ReadLease | undefined): Promise<Outcome> {
    // A caller whose read took the lease fetches at once (what #settle would do, one async frame less).
    const run = lease?.state === 'acquired' ? this.#fetch(plan, lease.token, null, true, span, true) : this.#settle(plan, stale, storeDown, span, lease);
    const entry: { known: Promise<Settled>; answered: boolean; final: Promise<Outcome> | undefined } = { known: run, answered: false, final: undefined };
    const done = (): void => this.#leave(plan.full, entry);
    this.#inflight.set(plan.full, entry);
    // The caller that started it answers once the value is known, without waiting for the write:
    // the write is already queued on the connection, ahead of any later call from this process.
    // Joiners get the outcome once the write settled (entry.final), or the error.
    return run.then(
      (s) => {
        entry.answered = true;
        entry.final = s.final;
        if (s.landed) done();
        else s.final.then(done, done);
        return s.outcome;
      },
      (err: unknown) => {
        done();
        throw err;
      },
    );
  }

  /**
   * A caller whose leasing read took the lease, with no hard time-out on the fetch (the common
   * miss of a cold cache): it fetches at once, joining nobody (it is the one others wait for).
   * Its answer is made from the fetched value by one handler on the write's answer, or at once
   * (ValueWrites.answersEarly), through `caller` (the facade's GetOrSetRead): no promise of an Outcome in
   * between, and the in-flight entry makes joiners' outcome only when one joins.
   *
   * A value the fetcher returns rather than promises, for a read nobody followed, gets no
   * in-flight entry at all: no call of this process can start between the lease's answer and the
   * write going out, and every later call of this process on the key is sent after the write, so
   * Redis answers it with what the write left (the entry, or whatever revoked the lease). Only a
   * plain GET already on the wire behind the write could still find the lease: it is then waited
   * for like another instance's (leaseOrWait), which is correct, a round trip slower. That is the
   * miss of a computed or in-memory value, and the library's own cost with no fetch to wait for
   * (what `npm run bench` measures): leaving the entry out measured 1.05–1.13 × the misses a
   * second of entering it (DESIGN.md, "In-process coalescing without a hole").
   */
  leased<R>(plan: GetOrSetPlan<unknown>, caller: LeasedCaller<R>): R | Promise<R> {
    const h = this.#host;
    const res = new LeasedResolution(h.nextSeq());
    const startedMs = h.options.clock.now();
    h.stats.fetches++;
    let v: unknown;
    try {
      v = h.tracer.fetchValue(caller.span, plan.fetcher);
    } catch (err) {
      // Whatever the fetcher threw, unchanged, as a fetcher's rejection is.
      this.#inflight.set(plan.full, res);
      return this.#leasedFailure(plan, caller, res, err);
    }
    if (!isThenable(v)) {
      // Followers join synchronously once this returns, while the write is on the wire.
      if (caller.followed) this.#inflight.set(plan.full, res);
      return this.#leasedValue(plan, caller, res, v, startedMs);
    }
    // In the table once the fetcher has run (a fetcher calling getOrSet on its own key must not
    // join itself), and before the value's write goes out.
    this.#inflight.set(plan.full, res);
    const answer = Promise.resolve(v).then(
      (value) => this.#leasedValue(plan, caller, res, value, startedMs),
      (err: unknown) => this.#leasedFailure(plan, caller, res, err),
    );
    // Joiners meanwhile wait for the value (then take `final`), or share the error.
    res.known = answer;
    return answer;
  }

  /** Resolver.leased once the value is known: its write goes out and the caller's answer is made. */
  #leasedValue<R>(plan: GetOrSetPlan<unknown>, caller: LeasedCaller<R>, res: LeasedResolution, value: unknown, startedMs: number): R | Promise<R> {
    const token = caller.token;
    let seq: number;
    let write: Promise<boolean> | undefined;
    try {
      if (value === null && plan.negativeTtlSeconds === false) {
        // A null not to be cached: the lease goes, as ValueWrites.commit sees to.
        const final = this.#writes.commit(plan, token, true, value, startedMs, res.fetchSeq, notAbandoned, () => this.#leave(plan.full, res));
        res.settled(final);
        return this.#writes.answersEarly(plan, token) ? caller.missed(value) : final.then((o) => caller.missed(o.value));
      }
      seq = this.#host.nextSeq();
      write = this.#writes.issue(plan, token, true, value, startedMs, notAbandoned);
    } catch (err) {
      // An input error (E_SERIALIZE, …): nothing was written.
      return this.#leasedFailure(plan, caller, res, err);
    }
    if (write === undefined) {
      // The cache closed meanwhile: nothing written, the value current as of its fetch.
      this.#leave(plan.full, res);
      res.settled(Promise.resolve(missAt(value, res.fetchSeq)));
      return caller.missed(value);
    }
    res.writing(value, write, seq);
    const early = this.#writes.answersEarly(plan, token) ? caller.missed(value) : NOT_ANSWERED;
    // One handler for the write's answer and its failure: the store answers a boolean (written,
    // or refused: the lease was revoked or taken over), a failure is an error.
    const settled = (reply: unknown): R => {
      this.#writes.settled(plan, reply);
      this.#leave(plan.full, res);
      return early === NOT_ANSWERED ? caller.missed(value) : early;
    };
    const landed = write.then(settled, settled);
    return early === NOT_ANSWERED ? landed : early;
  }

  /**
   * Resolver.leased when the fetch failed: no stale value to fall back on (the leasing read found
   * no entry), so, as failSafeOutcome does then, the lease goes, then the error, shared with
   * joiners (never stale data).
   */
  #leasedFailure<R>(plan: GetOrSetPlan<unknown>, caller: LeasedCaller<R>, res: LeasedResolution, err: unknown): Promise<R> {
    const failing = releaseLease(this.#host, plan, caller.token).then(() => {
      this.#leave(plan.full, res);
      return caller.failed(err);
    });
    res.known = failing;
    return failing;
  }

  /** A resolution has ended: removed before joiners see its outcome, so one that must retry does not find it again. */
  #leave(full: string, entry: InFlight): void {
    this.#inflight.deleteIf(full, entry);
  }

  #settle(plan: GetOrSetPlan<unknown>, staleFromRead: Found | null, storeDown: boolean, span: Span, lease: ReadLease | undefined): Promise<Settled> {
    // Redis just failed: fetch, and write nothing (an unleased write could be a stale set).
    if (storeDown) return this.#fetch(plan, undefined, null, false, span);
    if (!plan.lease) return this.#fetch(plan, undefined, staleFromRead, true, span);
    return leaseOrWait(this.#leaseWaiter, plan, staleFromRead, lease, span);
  }

  /**
   * Runs the fetcher. With `token`, the value is written only if the lease still holds; with
   * `write` false it is not written at all. `marker`: the lease is a marker under the entry's own
   * key (scripts.ts), not a lease key beside an entry; the store may then write with a plain
   * compare-and-set (leased-writes.ts). `stale` is the fallback for soft time-out and
   * fail-safe. The fetcher runs in a `cache.fetch` span under `span` (tracing.ts).
   */
  #fetch(plan: GetOrSetPlan<unknown>, token: string | undefined, stale: Found | null, write: boolean, span: Span, marker = false): Promise<Settled> {
    const h = this.#host;
    const fetchSeq = h.nextSeq();
    const startedMs = h.options.clock.now();
    h.stats.fetches++;
    let abandoned = false;
    let abandonFetch: (err: unknown) => void = ignore;
    const settle = (value: unknown): Settled | Promise<Settled> => {
      const outcome = missAt(value, fetchSeq);
      if (!write) return settledNow(outcome);
      // Joiners wait for the write (a write that landed makes the value current as of the
      // write, see resolve).
      const final = this.#writes.commit(plan, token, marker, value, startedMs, fetchSeq, () => abandoned);
      if (this.#writes.answersEarly(plan, token)) return { outcome, final, landed: false };
      return final.then((o) => ({ outcome: o, final, landed: true }));
    };
    // Chained by hand rather than an async function: a miss is two promises shorter, which
    // matters at tens of thousands of misses a second. A fetcher that throws synchronously
    // rejects `work` as one that rejects.
    let work: Promise<Settled>;
    try {
      const run = h.tracer.fetch(span, plan.fetcher);
      abandonFetch = run.abandon;
      const v = run.value;
      // A value the fetcher returned rather than promised (computed, or from memory) goes to its
      // write at once: a promise and a promise job fewer. Promise.resolve returns a promise as is.
      work = isThenable(v) ? Promise.resolve(v).then(settle) : Promise.resolve(settle(v));
    } catch (err) {
      // Whatever the fetcher threw, unchanged, as a fetcher's rejection is.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      work = Promise.reject(err);
    }
    const soft = stale !== null ? plan.softTimeoutMs : undefined;
    const hard = plan.hardTimeoutMs;
    // No time-outs: the common miss, without race()'s wrapper objects or an async frame of its own.
    if (soft === undefined && hard === undefined) return work.catch((err: unknown) => failSafeOutcome(this.#host, plan, token, stale, err, span).then(settledNow));
    const abandon = (err: unknown): void => {
      abandoned = true;
      abandonFetch(err);
    };
    return this.#fetchTimed(plan, token, stale, span, work, soft, hard, abandon);
  }

  /** #fetch under softTimeoutMs / hardTimeoutMs. `abandon(err)`: the fetch is given up (its value is not written). */
  async #fetchTimed(plan: GetOrSetPlan<unknown>, token: string | undefined, stale: Found | null, span: Span, work: Promise<Settled>, soft: number | undefined, hard: number | undefined, abandon: (err: unknown) => void): Promise<Settled> {
    // softTimeoutMs 0 with a stale value at hand: answer with it at once, whatever the fetch does.
    const r: Race<Settled> = soft === 0 && stale !== null ? { kind: 'soft' } : await race(work, soft, hard);
    if (r.kind === 'value') return r.value;
    if (r.kind === 'soft' && stale !== null) {
      // Answer stale now; the refresh goes on and is written if it still holds the lease.
      const hardLeft = hard === undefined ? undefined : Math.max(0, hard - (soft ?? 0));
      this.#track(
        race(work, undefined, hardLeft).then(async (late) => {
          if (late.kind === 'value') return late.value.final;
          const err = late.kind === 'hard' ? new FactoryTimeoutError(plan.key, hard ?? 0) : late.kind === 'error' ? late.error : undefined;
          if (late.kind === 'hard') abandon(err);
          // The caller's span has ended (it answered stale): nothing more is flagged on it.
          await failSafeOutcome(this.#host, plan, token, stale, err, NO_SPAN).catch(() => undefined);
          return undefined;
        }),
      );
      return settledNow({ value: stale.value, status: 'stale', seq: stale.seq });
    }
    if (r.kind === 'hard') {
      work.catch(() => undefined);
      const timeout = new FactoryTimeoutError(plan.key, hard ?? 0);
      abandon(timeout);
      return settledNow(await failSafeOutcome(this.#host, plan, token, stale, timeout, span));
    }
    return settledNow(await failSafeOutcome(this.#host, plan, token, stale, r.kind === 'error' ? r.error : undefined, span));
  }

  /**
   * An XFetch early refresh, in the background: the caller already has its (fresh) value. One
   * per key per process; across processes the lease keeps it to one.
   */
  refreshEarly(plan: GetOrSetPlan<unknown>): void {
    if (this.#refreshing.has(plan.full) || this.#inflight.has(plan.full)) return;
    this.#refreshing.add(plan.full);
    const h = this.#host;
    const span = h.tracer.start(SPAN.refresh, plan.key);
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
      await (await this.#fetch(plan, token, null, true, span)).final;
    };
    this.#track(
      run()
        .catch((err: unknown) => {
          h.fail('refresh', plan.key, err instanceof CacheError ? err : new FetchFailedError(plan.key, { cause: err }), span);
        })
        .finally(() => {
          this.#refreshing.delete(plan.full);
          span.end();
        }),
    );
  }
}
