/**
 * A miss that must take the lease itself, or wait for another caller's (getOrSet's miss path,
 * get-or-set.ts): a plain `SET NX` lease where nothing is stored, the ACQUIRE script where a
 * stale value or tags are involved, and, while another caller holds the lease, waiting for its
 * write, heard from Redis (lease-watch.ts) or found by polling, up to lockWaitMs.
 */
import type { GetOrSetPlan } from './call-options.ts';
import { randomToken, type StoredEntry } from './entry.ts';
import type { FacadeParts } from './facade/parts.ts';
import type { LeaseWatch } from './lease-watch.ts';
import type { Found, Outcome, ReadLease } from './outcome.ts';
import { ATTR, flag } from './tracing.ts';
import type { Span } from '@opentelemetry/api';

const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 50;

/** What the wait needs from the facade (facade/parts.ts) and the resolver's host. */
export interface LeaseWaitHost extends Pick<FacadeParts, 'store' | 'options' | 'stats' | 'fail'> {
  /** Numbers every store call in the order it is issued. */
  nextSeq(): number;
  sleep(ms: number): Promise<void>;
}

/** How the resolver fetches (its #fetch) and judges what the store returned; `S` is its settled resolution. */
export interface LeaseWaiter<S> {
  readonly host: LeaseWaitHost;
  fetch(plan: GetOrSetPlan<unknown>, token: string | undefined, stale: Found | null, write: boolean, span: Span, marker?: boolean): Promise<S>;
  found(key: string, full: string, entry: StoredEntry | null, nowMs: number, seq: number): Found | null;
  /** A resolution settled with `outcome`, nothing fetched. */
  answer(outcome: Outcome): S;
}

/**
 * A leased miss (plan.lease) whose read found no fresh value (`staleFromRead`, if any, is what
 * it found) and did not take the lease: takes it and fetches, or waits for the holder's write
 * and answers with it, or answers stale while another caller refreshes. `lease`: the caller's
 * leasing read found the lease held. `span` is the caller's getOrSet span.
 */
export async function leaseOrWait<S>(w: LeaseWaiter<S>, plan: GetOrSetPlan<unknown>, staleFromRead: Found | null, lease: ReadLease | undefined, span: Span): Promise<S> {
  const h = w.host;
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
      return w.fetch(plan, undefined, null, false, span);
    }
    if (t.state === 'taken') return w.fetch(plan, token, null, true, span, true);
    if (t.state === 'held') held = true;
    else {
      // A holder's write landed between this caller's read and its lease: that is the value.
      const f = w.found(plan.key, plan.full, t.entry, o.clock.now(), seq);
      if (f !== null && f.fresh) return w.answer({ value: f.value, status: f.failSafe ? 'stale' : 'hit', seq });
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
          return await w.fetch(plan, undefined, null, false, span);
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
          else await pause(h, watch, delay, o.lockWaitMs - waitedMs);
        } else {
          await pause(h, watch, delay, o.lockWaitMs - waitedMs);
        }
        delay = Math.min(delay * 2, MAX_POLL_MS);
      }
      const seq = h.nextSeq();
      let r;
      try {
        r = await h.store.acquire(plan.full, { nowMs: o.clock.now(), token, leaseTtlMs: o.leaseTtlMs, mode: 'take', tags: plan.tags });
      } catch (err) {
        h.fail('getOrSet', plan.key, err, span);
        return await w.fetch(plan, undefined, null, false, span);
      }
      const now = o.clock.now();
      // Only what this call returned counts: the read's stale value may have been invalidated since.
      const f = w.found(plan.key, plan.full, r.entry, now, seq);
      if (f !== null && f.fresh) return w.answer({ value: f.value, status: f.failSafe ? 'stale' : waited ? 'miss' : 'hit', seq });
      if (r.lease === 'acquired') return await w.fetch(plan, token, f, true, span, r.entry === null && plan.tags.length === 0);
      // Someone else is fetching. With a stale value, answer at once; otherwise wait for theirs.
      if (f !== null) return w.answer({ value: f.value, status: 'stale', seq });
      held = true;
    }
  } finally {
    watch?.close();
  }
}

/** Sleeps `delayMs` (±20 % jitter, so waiters on many instances do not poll in step), or until the lease is announced dropped. */
async function pause(h: LeaseWaitHost, watch: LeaseWatch, delayMs: number, leftMs: number): Promise<void> {
  const ms = Math.max(1, Math.min(delayMs, leftMs) * (0.8 + 0.4 * Math.random()));
  const announced = await Promise.race([h.sleep(ms).then(() => false), watch.released.then(() => true)]);
  if (announced) h.stats.leaseWakeups++;
}
