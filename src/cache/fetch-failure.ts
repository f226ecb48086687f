/**
 * What getOrSet does when its fetch fails (rejects, times out): fail-safe, which answers with a
 * stale value the caller already read if nothing invalidated it meanwhile, or the error; and
 * the release of a lease whose fetch produced nothing to write.
 */
import type { GetOrSetPlan } from './call-options.ts';
import { CacheError, FetchFailedError } from './errors.ts';
import type { FacadeParts } from './facade/parts.ts';
import type { Found, Outcome } from './outcome.ts';
import { ATTR, flag } from './tracing.ts';
import type { Span } from '@opentelemetry/api';

/** What fail-safe needs from the facade (facade/parts.ts). */
export type FailureHost = Pick<FacadeParts, 'store' | 'options' | 'stats' | 'fail'>;

/** Errors in the caller's input: never hidden behind a stale value. */
function isInputError(err: unknown): boolean {
  return err instanceof CacheError && (err.code === 'E_UNDEFINED_VALUE' || err.code === 'E_SERIALIZE' || err.code === 'E_VALUE_TOO_LARGE');
}

/**
 * Fail-safe after a fetch failed with `err`: the stale value if there is one and it is still
 * valid (the store keeps it, due for a retry after failSafeRetryMs); else the error, and the
 * lease (`token`) is released. `span` is the caller's getOrSet span.
 */
export async function failSafeOutcome(h: FailureHost, plan: GetOrSetPlan<unknown>, token: string | undefined, stale: Found | null, err: unknown, span: Span): Promise<Outcome> {
  if (stale === null || isInputError(err)) {
    if (token !== undefined) await releaseLease(h, plan, token);
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
  // The fetch span carries the error; the call itself answered (stale), as designed.
  flag(span, ATTR.failSafe);
  h.fail('getOrSet', plan.key, new FetchFailedError(plan.key, { cause: err }));
  return { value: stale.value, status: 'stale', seq: stale.seq };
}

/** Releases a lease whose fetch wrote nothing; a failure is reported (the lease expires by itself after leaseTtlMs). */
export async function releaseLease(h: FailureHost, plan: GetOrSetPlan<unknown>, token: string): Promise<void> {
  try {
    await h.store.release(plan.full, token);
  } catch (err) {
    h.fail('getOrSet', plan.key, err);
  }
}
