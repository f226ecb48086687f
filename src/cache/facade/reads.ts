/**
 * The facade's plain reads: `get`, `getMany`, `has`, `ttl`. They see fresh values only (stale
 * values within grace are getOrSet's alone) and never throw because of Redis: a failure is
 * counted, reported, and answered as a miss.
 */
import { NO_VALUE } from '../codec.ts';
import type { StoredEntry } from '../entry.ts';
import { ATTR, count, setOutcome } from '../tracing.ts';
import { admitToL1, type FacadeParts } from './parts.ts';
import type { Span } from '@opentelemetry/api';

/** The fresh value of a stored entry, or NO_VALUE. */
function fresh(p: FacadeParts, key: string, full: string, entry: StoredEntry | null, nowMs: number): unknown {
  if (entry === null || nowMs >= entry.freshUntilMs || entry.failSafe) return NO_VALUE;
  return p.decode(key, full, entry);
}

export async function readValue<T>(p: FacadeParts, key: string, span: Span): Promise<T | null> {
  p.assertOpen();
  const full = p.key(key);
  const l1 = p.l1?.tier;
  let ticket = -1;
  if (l1?.up === true && l1.eligible(key)) {
    const e = l1.get(full, p.options.clock.now());
    if (e !== undefined) {
      p.stats.l1HitAt(full, p.options.prefix.length);
      setOutcome(span, 'hit', 'l1');
      return e.value as T;
    }
    ticket = l1.ticket();
  }
  let entry: StoredEntry | null;
  try {
    entry = await p.store.readEntry(full);
  } catch (err) {
    p.fail('get', key, err, span);
    setOutcome(span, 'miss', undefined);
    return null;
  }
  const value = fresh(p, key, full, entry, p.options.clock.now());
  if (value === NO_VALUE) {
    p.stats.miss(key);
    setOutcome(span, 'miss', undefined);
    return null;
  }
  p.stats.hit(key);
  setOutcome(span, 'hit', 'l2');
  if (ticket >= 0 && entry !== null) admitToL1(p.l1, full, ticket, value, entry);
  return value as T;
}

export async function readValues<T>(p: FacadeParts, keys: readonly string[], span: Span): Promise<(T | null)[]> {
  p.assertOpen();
  count(span, ATTR.keyCount, keys.length);
  const full = keys.map((k) => p.key(k));
  let entries: (StoredEntry | null)[];
  try {
    entries = await p.store.readEntries(full);
  } catch (err) {
    for (const k of keys) p.fail('getMany', k, err, span);
    return keys.map(() => null);
  }
  const now = p.options.clock.now();
  return keys.map((k, i) => {
    const value = fresh(p, k, full[i] as string, entries[i] ?? null, now);
    if (value === NO_VALUE) {
      p.stats.miss(k);
      return null;
    }
    p.stats.hit(k);
    return value as T;
  });
}

export async function hasFresh(p: FacadeParts, key: string): Promise<boolean> {
  p.assertOpen();
  const full = p.key(key);
  try {
    const entry = await p.store.readEntry(full);
    return entry !== null && p.options.clock.now() < entry.freshUntilMs && !entry.failSafe;
  } catch (err) {
    p.fail('has', key, err);
    return false;
  }
}

export async function secondsLeft(p: FacadeParts, key: string): Promise<number | null> {
  p.assertOpen();
  const full = p.key(key);
  try {
    const entry = await p.store.readEntry(full);
    const now = p.options.clock.now();
    if (entry === null || now >= entry.graceUntilMs) return null;
    if (entry.freshUntilMs !== Infinity) return entry.failSafe ? 0 : Math.max(0, Math.ceil((entry.freshUntilMs - now) / 1000));
    const ms = await p.store.pttl(full);
    if (ms === null) return null;
    return ms < 0 ? -1 : Math.ceil(ms / 1000);
  } catch (err) {
    p.fail('ttl', key, err);
    return null;
  }
}
