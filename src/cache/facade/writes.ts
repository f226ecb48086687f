/**
 * The facade's writes: `set`, `setMany` and `del` report a Redis failure and resolve false / 0
 * (`del` with `throwOnError` rejects instead); counters reject, because their callers must know.
 * Every write drops the keys from this instance's in-process tier at once (other instances hear
 * of it from Redis).
 */
import { entryWriteOf, setPlanOf, type TtlArg } from '../call-options.ts';
import type { EntryWrite } from '../entry.ts';
import { CacheError } from '../errors.ts';
import { ATTR, count } from '../tracing.ts';
import { assertTtlSeconds, ttlToMs } from '../ttl.ts';
import type { FacadeParts } from './parts.ts';
import type { Span } from '@opentelemetry/api';

export interface SetManyEntry<T = unknown> {
  key: string;
  value: T;
  ttl: TtlArg;
}

function entryWrite(p: FacadeParts, key: string, value: unknown, arg: TtlArg, nowMs: number): EntryWrite {
  return entryWriteOf(p.key(key), p.encode(key, value), setPlanOf(arg, p.options), nowMs);
}

export async function writeValue(p: FacadeParts, key: string, value: unknown, ttl: TtlArg, span: Span): Promise<boolean> {
  p.assertOpen();
  const entry = entryWrite(p, key, value, ttl, p.options.clock.now());
  try {
    await p.store.write([entry]);
    p.l1?.dropKeys([entry.key]);
    p.stats.sets++;
    return true;
  } catch (err) {
    p.fail('set', key, err, span);
    return false;
  }
}

export async function writeValues(p: FacadeParts, entries: readonly SetManyEntry[], span: Span): Promise<boolean> {
  p.assertOpen();
  count(span, ATTR.keyCount, entries.length);
  const now = p.options.clock.now();
  const prepared = entries.map((e) => entryWrite(p, e.key, e.value, e.ttl, now));
  try {
    await p.store.write(prepared);
    p.l1?.dropKeys(prepared.map((e) => e.key));
    p.stats.sets += prepared.length;
    return true;
  } catch (err) {
    p.fail('setMany', entries[0]?.key, err, span);
    return false;
  }
}

export async function deleteKeys(p: FacadeParts, keys: string | readonly string[], options: { throwOnError?: boolean } | undefined, span: Span): Promise<number> {
  p.assertOpen();
  const list = typeof keys === 'string' ? [keys] : keys;
  count(span, ATTR.keyCount, list.length);
  const full = list.map((k) => p.key(k));
  try {
    const n = await p.store.delete(full);
    p.l1?.dropKeys(full);
    p.stats.deletes += n;
    count(span, ATTR.deleted, n);
    return n;
  } catch (err) {
    // A rethrown error is recorded once, by the facade's span wrapper.
    const e = p.fail('del', list[0], err, options?.throwOnError === true ? undefined : span);
    if (options?.throwOnError === true) throw e;
    return 0;
  }
}

export async function increment(p: FacadeParts, key: string, by: number, ttlSeconds: number): Promise<number> {
  p.assertOpen();
  const full = p.key(key);
  assertTtlSeconds(ttlSeconds);
  if (!Number.isSafeInteger(by)) throw new CacheError('E_INVALID_OPTIONS', `increment must be an integer, got ${by}`);
  try {
    const n = await p.store.incrBy(full, by, ttlToMs(ttlSeconds));
    p.l1?.dropKeys([full]);
    return n;
  } catch (err) {
    throw p.fail('incr', key, err);
  }
}
