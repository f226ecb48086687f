import type { GetOrSetPlan } from './call-options.ts';
import { NO_VALUE } from './codec.ts';
import { randomToken, type StoredEntry } from './entry.ts';
import { CacheError, FactoryTimeoutError, FetchFailedError } from './errors.ts';
import { jitteredTtlMs } from './jitter.ts';
import type { FacadeParts } from './facade/parts.ts';
import { failSafeOutcome, releaseLease } from './fetch-failure.ts';
import { race, type Race } from './fetch-race.ts';
import type { LeaseWatch } from './lease-watch.ts';
import type { Found, Outcome, ReadLease } from './outcome.ts';
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

const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 50;

/**
 * A resolution as the resolver runs it: `outcome` for the caller that started it, as soon as
 * the value is known; `final` for callers of this process that joined it, once the value's write
 * settled (whether it landed decides whether they may take it: see resolve).
 */
interface Settled {
  outcome: Outcome;
  final: Promise<Outcome>;
}

/** A resolution of this process, shared by the callers that join it. */
interface InFlight {
  readonly run: Promise<Settled>;
  /**
   * The outcome once the value's write settled: made from `run` when the first caller joins
   * (most misses have no joiner, and then no promise of their own for it).
   */
  final: Promise<Outcome> | undefined;
  /** The starting caller has its answer: only the write is in flight. */
  answered: boolean;
}

const finalOf = (s: Settled): Promise<Outcome> => s.final;
const ignore = (): void => {};

const settledNow = (outcome: Outcome): Settled => ({ outcome, final: Promise.resolve(outcome) });

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

  constructor(host: ResolverHost) {
    this.#host = host;
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
      const out = await (pending.final ??= pending.run.then(finalOf));
      if (out.seq > readSeq) return out;
    }
    return this.#start(plan, stale, storeDown, span, lease);
  }

  /** Starts this process's resolution of the key, which callers arriving meanwhile join. */
  #start(plan: GetOrSetPlan<unknown>, stale: Found | null, storeDown: boolean, span: Span, lease: ReadLease | undefined): Promise<Outcome> {
    // A caller whose read took the lease fetches at once (what #settle would do, one async frame less).
    const run = lease?.state === 'acquired' ? this.#fetch(plan, lease.token, null, true, span, true) : this.#settle(plan, stale, storeDown, span, lease);
    const entry: InFlight = { run, answered: false, final: undefined };
    const done = (): void => {
      // Removed before joiners see the outcome, so one that must retry does not find it again.
      if (this.#inflight.get(plan.full) === entry) this.#inflight.delete(plan.full);
    };
    this.#inflight.set(plan.full, entry);
    // The caller that started it answers once the value is known, without waiting for the write:
    // the write is already queued on the connection, ahead of any later call from this process.
    // Joiners get the outcome once the write settled (entry.final), or the error.
    return run.then(
      (s) => {
        entry.answered = true;
        s.final.then(done, done);
        return s.outcome;
      },
      (err: unknown) => {
        done();
        throw err;
      },
    );
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

  async #settle(plan: GetOrSetPlan<unknown>, staleFromRead: Found | null, storeDown: boolean, span: Span, lease: ReadLease | undefined): Promise<Settled> {
    const h = this.#host;
    // Redis just failed: fetch, and write nothing (an unleased write could be a stale set).
    if (storeDown) return this.#fetch(plan, undefined, null, false, span);
    if (!plan.lease) return this.#fetch(plan, undefined, staleFromRead, true, span);
    const o = h.options;
    const token = lease?.token ?? randomToken();
    // lockWaitMs is measured on the cache's clock like every other library time, so under a
    // ManualClock (simulator) a waiter gives up only when simulated time passes; the pauses
    // between polls are real (host.sleep).
    const startedMs = o.clock.now();
    // The read found nothing and the call has no tags: the lease alone is what is missing, and a
    // plain SET NX takes it (no script, no second read of the entry the GET just missed). A
    // stale value or tags need the ACQUIRE script: it returns the entry atomically with the lease
    // and records the tags' versions.
    let held = false;
    // A leasing read that took the lease never comes here (resolve fetches at once): one that
    // found it held waits.
    if (lease !== undefined) {
      held = true;
    } else if (staleFromRead === null && plan.tags.length === 0) {
      const seq = h.nextSeq();
      let t;
      try {
        t = await h.store.tryLease(plan.full, token, o.leaseTtlMs, startedMs);
      } catch (err) {
        h.fail('getOrSet', plan.key, err, span);
        return this.#fetch(plan, undefined, null, false, span);
      }
      if (t.state === 'taken') return this.#fetch(plan, token, null, true, span, true);
      if (t.state === 'held') held = true;
      else {
        // A holder's write landed between this caller's read and its lease: that is the value.
        const f = this.found(plan.key, plan.full, t.entry, o.clock.now(), seq);
        if (f !== null && f.fresh) return settledNow({ value: f.value, status: f.failSafe ? 'stale' : 'hit', seq });
        // Stale, tagged or unreadable: ACQUIRE below judges it and takes the lease.
      }
    }
    let delay = FIRST_POLL_MS;
    let waited = false;
    let watch: LeaseWatch | undefined;
    try {
      for (;;) {
        if (held) {
          // Someone else is fetching: wait for their write, heard from Redis (lease-watch.ts), or
          // at the next poll.
          const waitedMs = o.clock.now() - startedMs;
          if (waitedMs >= o.lockWaitMs) {
            h.stats.lockTimeouts++;
            flag(span, ATTR.lockTimeout);
            return await this.#fetch(plan, undefined, null, false, span);
          }
          if (!waited) {
            h.stats.leaseWaits++;
            flag(span, ATTR.leaseWait);
          }
          waited = true;
          if (watch === undefined) {
            watch = h.store.watchLease(plan.full);
            // Armed now: a write from here on is heard, so look once more (it may have landed
            // before the subscription) and then wait for the announcement.
            if (await watch.armed) delay = MAX_POLL_MS;
            else await this.#pause(watch, delay, o.lockWaitMs - waitedMs);
          } else {
            await this.#pause(watch, delay, o.lockWaitMs - waitedMs);
          }
          delay = Math.min(delay * 2, MAX_POLL_MS);
        }
        const seq = h.nextSeq();
        let r;
        try {
          r = await h.store.acquire(plan.full, { nowMs: o.clock.now(), token, leaseTtlMs: o.leaseTtlMs, mode: 'take', tags: plan.tags });
        } catch (err) {
          h.fail('getOrSet', plan.key, err, span);
          return await this.#fetch(plan, undefined, null, false, span);
        }
        const now = o.clock.now();
        // Only what this call returned counts: the read's stale value may have been invalidated since.
        const f = this.found(plan.key, plan.full, r.entry, now, seq);
        if (f !== null && f.fresh) return settledNow({ value: f.value, status: f.failSafe ? 'stale' : waited ? 'miss' : 'hit', seq });
        if (r.lease === 'acquired') return await this.#fetch(plan, token, f, true, span, r.entry === null && plan.tags.length === 0);
        // Someone else is fetching. With a stale value, answer at once; otherwise wait for theirs.
        if (f !== null) return settledNow({ value: f.value, status: 'stale', seq });
        held = true;
      }
    } finally {
      watch?.close();
    }
  }

  /** Sleeps `delayMs` (±20 % jitter, so waiters on many instances do not poll in step), or until the lease is announced dropped. */
  async #pause(watch: LeaseWatch, delayMs: number, leftMs: number): Promise<void> {
    const ms = Math.max(1, Math.min(delayMs, leftMs) * (0.8 + 0.4 * Math.random()));
    const announced = await Promise.race([this.#host.sleep(ms).then(() => false), watch.released.then(() => true)]);
    if (announced) this.#host.stats.leaseWakeups++;
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
      const outcome: Outcome = { value, status: 'miss', seq: fetchSeq };
      if (!write) return settledNow(outcome);
      // Joiners wait for the write (a write that landed makes the value current as of the
      // write, see resolve). A failed write is reported and settles null.
      const committed = this.#commit(plan, token, marker, value, startedMs, () => abandoned);
      this.#pendingWrites++;
      const final = committed.then(
        (commitSeq): Outcome => {
          this.#writeSettled();
          return { value, status: 'miss', seq: Math.max(fetchSeq, commitSeq ?? 0) };
        },
        (err: unknown) => {
          this.#writeSettled();
          throw err;
        },
      );
      // The caller may answer before its write lands, a round trip sooner, when later calls of
      // this process cannot overtake the write, and only while few writes are in flight: under
      // load, callers that answer early keep every miss in the same round trip as the others,
      // so this process and Redis take turns instead of working at once, and the writes queue
      // up unbounded. Awaiting the write there measured 0.45–0.56 of cache-aside's throughput
      // against 0.39–0.44 (64 misses in flight, three A/B pairs).
      if (token !== undefined && plan.tags.length === 0 && h.store.ordersUntaggedWrites && this.#pendingWrites <= EARLY_ANSWER_MAX_WRITES) return { outcome, final };
      return final.then((o) => ({ outcome: o, final }));
    };
    // Chained by hand rather than an async function: a miss is two promises shorter, which
    // matters at tens of thousands of misses a second. A fetcher that throws synchronously
    // rejects `work` as one that rejects.
    let work: Promise<Settled>;
    try {
      const run = h.tracer.fetch(span, plan.fetcher);
      abandonFetch = run.abandon;
      work = Promise.resolve(run.value).then(settle);
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
   * Writes a fetched value; resolves the seq of the write if it landed, null if not. Encoding
   * happens before it returns, so an input error (E_SERIALIZE, E_VALUE_TOO_LARGE, …) throws to
   * the caller rather than disappearing into the write.
   */
  #commit(plan: GetOrSetPlan<unknown>, token: string | undefined, marker: boolean, value: unknown, startedMs: number, abandoned: () => boolean): Promise<number | null> {
    const h = this.#host;
    const o = h.options;
    if (value === null && plan.negativeTtlSeconds === false) {
      return token === undefined ? Promise.resolve(null) : releaseLease(this.#host, plan, token).then(() => null);
    }
    const encoded = h.encode(plan.key, value);
    const now = o.clock.now();
    const ttlSeconds = value === null && plan.negativeTtlSeconds !== false ? Math.min(plan.negativeTtlSeconds, plan.ttlSeconds) : plan.ttlSeconds;
    const ttlMs = jitteredTtlMs(ttlSeconds, plan.jitter, o.random);
    if (abandoned() || h.isClosed()) return Promise.resolve(null);
    const seq = h.nextSeq();
    const entry = {
      key: plan.full,
      value: encoded,
      freshUntilMs: now + ttlMs,
      graceUntilMs: now + ttlMs + plan.graceMs,
      fetchMs: Math.max(0, now - startedMs),
      ttlMs: ttlMs + plan.graceMs,
      tags: plan.tags,
    };
    return h.store.commit(plan.full, token, entry, marker).then(
      (written) => {
        if (written) {
          h.stats.sets++;
          return seq;
        }
        // The lease was revoked (del, pattern, tags, set) or taken over: this value may be stale.
        h.stats.staleWritesPrevented++;
        return null;
      },
      (err: unknown) => {
        h.fail('set', plan.key, err);
        return null;
      },
    );
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
