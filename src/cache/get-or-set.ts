import type { GetOrSetPlan } from './call-options.ts';
import { NO_VALUE } from './codec.ts';
import { randomToken, type StoredEntry } from './entry.ts';
import { CacheError, FactoryTimeoutError, FetchFailedError } from './errors.ts';
import { jitteredTtlMs } from './jitter.ts';
import type { FacadeParts } from './facade/parts.ts';
import { failSafeOutcome, releaseLease } from './fetch-failure.ts';
import { race, type Race } from './fetch-race.ts';
import { leaseOrWait, type LeaseWaiter } from './lease-wait.ts';
import type { Found, LeasedCaller, Outcome, ReadLease } from './outcome.ts';
import { ATTR, flag, NO_SPAN, SPAN, type CacheTracer } from './tracing.ts';
import type { Span } from '@opentelemetry/api';

/** What the resolver needs from the facade: the parts its other calls share (facade/parts.ts), and its own. */
export interface ResolverHost extends Pick<FacadeParts, 'store' | 'options' | 'stats' | 'fail' | 'encode' | 'decode'> {
  readonly tracer: CacheTracer;
  /** Numbers every store call in the order it is issued. */
  nextSeq(): number;
  sleep(ms: number): Promise<void>;
  isClosed(): boolean;
}

/** A miss answers before its write lands only while at most this many writes are in flight (its own included). */
const EARLY_ANSWER_MAX_WRITES = 4;

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

/** A resolution of this process, shared by the callers that join it. */
interface InFlight {
  /** Settles once the value is known (`final` is then set), or rejects with the resolution's error. */
  readonly known: Promise<unknown>;
  /** The outcome once the value's write settled; set when the value is known. */
  readonly final: Promise<Outcome> | undefined;
  /** The starting caller has its answer: only the write is in flight. */
  readonly answered: boolean;
}

/** Whether v has a `then` method: what a promise (of any library) resolves through. */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
}
const ignore = (): void => {};
const notAbandoned = (): boolean => false;
/**
 * InFlight.known of a resolution being set up, synchronously, so nobody can join it yet; were
 * one to, finalOf would fail it rather than leave it waiting.
 */
const NOT_YET: Promise<unknown> = Promise.resolve();

/** The final outcome of a resolution whose value is known (InFlight.known has settled). */
function finalOf(f: InFlight): Promise<Outcome> {
  if (f.final === undefined) throw new Error('resolution settled without its final outcome');
  return f.final;
}

/**
 * The in-flight entry of a leased miss (Resolver.leased). Its `final` is made from the write's
 * answer only when a caller of this process joins, which a miss nobody else asked for never sees.
 */
class LeasedResolution implements InFlight {
  known: Promise<unknown> = NOT_YET;
  answered = false;
  #final: Promise<Outcome> | undefined;
  #write: Promise<boolean> | undefined;
  #value: unknown;
  #seq = 0;

  /** `fetchSeq`: the store call number of the fetch, what the value is current as of until its write lands. */
  constructor(readonly fetchSeq: number) {}

  get final(): Promise<Outcome> | undefined {
    const write = this.#write;
    if (this.#final === undefined && write !== undefined) {
      const value = this.#value;
      const seq = this.#seq;
      const fetchSeq = this.fetchSeq;
      this.#final = write.then(
        (written) => missAt(value, written ? seq : fetchSeq),
        () => missAt(value, fetchSeq),
      );
    }
    return this.#final;
  }

  /** The value is known, and its write (store call `seq`) is out. */
  writing(value: unknown, write: Promise<boolean>, seq: number): void {
    this.#value = value;
    this.#write = write;
    this.#seq = seq;
    this.answered = true;
  }

  /** The value is known, and `final` is its outcome for joiners. */
  settled(final: Promise<Outcome>): void {
    this.#final = final;
    this.answered = true;
  }
}

/** Resolver.leased's caller is to be answered once the write has settled, not at once. */
const NOT_ANSWERED: unique symbol = Symbol('not answered');

const settledNow = (outcome: Outcome): Settled => ({ outcome, final: Promise.resolve(outcome), landed: true });

/** A fetched value, current as of store call `seq` (its fetch, or its write once that landed). */
const missAt = (value: unknown, seq: number): Outcome => ({ value, status: 'miss', seq });

/**
 * The miss path of getOrSet: leases, waiting for another instance's fetch, fetching under
 * timeouts, fail-safe, and early refresh. The hit path (one read) stays in the facade.
 */
export class Resolver {
  readonly #host: ResolverHost;
  readonly #inflight = new Map<string, InFlight>();
  readonly #refreshing = new Set<string>();
  readonly #background = new Set<Promise<unknown>>();
  /** Writes issued and not yet settled, and who waits for them to drain (a counter: one per miss). */
  #pendingWrites = 0;
  #onWritesDrained: (() => void)[] = [];

  /** How leaseOrWait (lease-wait.ts) fetches and judges what the store returned: as this resolver does. */
  readonly #leaseWaiter: LeaseWaiter<Settled>;

  constructor(host: ResolverHost) {
    this.#host = host;
    this.#leaseWaiter = {
      host,
      fetch: (plan, token, stale, write, span, marker) => this.#fetch(plan, token, stale, write, span, marker),
      found: (key, full, entry, nowMs, seq) => this.found(key, full, entry, nowMs, seq),
      answer: settledNow,
    };
  }

  /** Resolves once every background refresh and write started so far has settled. */
  async idle(): Promise<void> {
    while (this.#background.size > 0 || this.#pendingWrites > 0) {
      await Promise.allSettled(Array.from(this.#background));
      await this.#writesSettled();
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
   * (#answersEarly), through `caller` (the facade's GetOrSetRead): no promise of an Outcome in
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
        // A null not to be cached: the lease goes, as #commit sees to.
        const final = this.#commit(plan, token, true, value, startedMs, res.fetchSeq, notAbandoned, () => this.#leave(plan.full, res));
        res.settled(final);
        return this.#answersEarly(plan, token) ? caller.missed(value) : final.then((o) => caller.missed(o.value));
      }
      seq = this.#host.nextSeq();
      write = this.#issue(plan, token, true, value, startedMs, notAbandoned);
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
    const early = this.#answersEarly(plan, token) ? caller.missed(value) : NOT_ANSWERED;
    // One handler for the write's answer and its failure: the store answers a boolean (written,
    // or refused: the lease was revoked or taken over), a failure is an error.
    const settled = (reply: unknown): R => {
      this.#afterWrite(plan, reply);
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
    if (this.#inflight.get(full) === entry) this.#inflight.delete(full);
  }

  /**
   * Whether a miss whose write (under lease `token`) has just gone out may answer before the
   * write lands, a round trip sooner: when later calls of this process cannot overtake the
   * write, and only while few writes are in flight. Under load, callers that answer early keep
   * every miss in the same round trip as the others, so this process and Redis take turns
   * instead of working at once, and the writes queue up unbounded. Awaiting the write there
   * measured 0.45–0.56 of cache-aside's throughput against 0.39–0.44 (64 misses in flight, three
   * A/B pairs).
   */
  #answersEarly(plan: GetOrSetPlan<unknown>, token: string | undefined): boolean {
    return token !== undefined && plan.tags.length === 0 && this.#host.store.ordersUntaggedWrites && this.#pendingWrites <= EARLY_ANSWER_MAX_WRITES;
  }

  /** Resolves once every write the resolver has issued so far has settled (for idle()). */
  #writesSettled(): Promise<void> {
    if (this.#pendingWrites === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#onWritesDrained.push(resolve));
  }

  readonly #writeSettled = (): void => {
    if (--this.#pendingWrites > 0) return;
    const waiting = this.#onWritesDrained;
    this.#onWritesDrained = [];
    for (const w of waiting) w();
  };

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
      const final = this.#commit(plan, token, marker, value, startedMs, fetchSeq, () => abandoned);
      if (this.#answersEarly(plan, token)) return { outcome, final, landed: false };
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
   * Writes the value fetched by store call `fetchSeq`; resolves the outcome for callers that
   * wait for the write: current as of the write if it landed, else as of the fetch. A failed
   * write is reported. Encoding happens before it returns, so an input error (E_SERIALIZE,
   * E_VALUE_TOO_LARGE, …) throws to the caller rather than disappearing into the write.
   */
  #commit(plan: GetOrSetPlan<unknown>, token: string | undefined, marker: boolean, value: unknown, startedMs: number, fetchSeq: number, abandoned: () => boolean, onSettled: () => void = ignore): Promise<Outcome> {
    const h = this.#host;
    // A null not to be cached: nothing is written, and the value is current as of its fetch.
    if (value === null && plan.negativeTtlSeconds === false) {
      if (token === undefined) {
        onSettled();
        return Promise.resolve(missAt(value, fetchSeq));
      }
      this.#pendingWrites++;
      return releaseLease(this.#host, plan, token).then(() => {
        onSettled();
        this.#writeSettled();
        return missAt(value, fetchSeq);
      });
    }
    const seq = h.nextSeq();
    const write = this.#issue(plan, token, marker, value, startedMs, abandoned);
    if (write === undefined) {
      onSettled();
      return Promise.resolve(missAt(value, fetchSeq));
    }
    // One handler from the store's answer to the outcome: no promise per step in between.
    const settled = (reply: unknown): Outcome => {
      this.#afterWrite(plan, reply);
      onSettled();
      return missAt(value, reply === true ? seq : fetchSeq);
    };
    return write.then(settled, settled);
  }

  /**
   * Issues the write of a value fetched at `startedMs` (see #commit), counted in #pendingWrites
   * until #afterWrite; undefined when it is not to be written (the fetch was abandoned, or the
   * cache closed). Encodes first: an input error throws.
   */
  #issue(plan: GetOrSetPlan<unknown>, token: string | undefined, marker: boolean, value: unknown, startedMs: number, abandoned: () => boolean): Promise<boolean> | undefined {
    const h = this.#host;
    const o = h.options;
    const encoded = h.encode(plan.key, value);
    const now = o.clock.now();
    const ttlSeconds = value === null && plan.negativeTtlSeconds !== false ? Math.min(plan.negativeTtlSeconds, plan.ttlSeconds) : plan.ttlSeconds;
    const ttlMs = jitteredTtlMs(ttlSeconds, plan.jitter, o.random);
    if (abandoned() || h.isClosed()) return undefined;
    const entry = {
      key: plan.full,
      value: encoded,
      freshUntilMs: now + ttlMs,
      graceUntilMs: now + ttlMs + plan.graceMs,
      fetchMs: Math.max(0, now - startedMs),
      ttlMs: ttlMs + plan.graceMs,
      tags: plan.tags,
    };
    this.#pendingWrites++;
    return h.store.commit(plan.full, token, entry, marker);
  }

  /**
   * A write from #issue settled with `reply`: the store's answer (a boolean: not written when the
   * lease was revoked by del, pattern, tags or set, or taken over, and this value may be stale),
   * or its failure (an error, reported).
   */
  #afterWrite(plan: GetOrSetPlan<unknown>, reply: unknown): void {
    const h = this.#host;
    if (reply === true) h.stats.sets++;
    else if (reply === false) h.stats.staleWritesPrevented++;
    else h.fail('set', plan.key, reply);
    this.#writeSettled();
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
