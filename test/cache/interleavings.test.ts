/**
 * Randomised interleavings (fast-check's scheduler, 1,000 runs): three cache instances share
 * one store, each through its own FIFO "connection" (as each process has one Redis connection
 * that applies its commands in order). Reads, writes (database update, then del / pattern / tag
 * invalidation), bare invalidations and clock ticks run concurrently against a versioned
 * in-memory table, with fetches that pause at random points. After each run:
 *
 * 1. every key in the cache is absent or equals the table;
 * 2. no read that began after a write finished returned an older version, unless flagged stale.
 *
 * fast-check prints the seed and the shrunk counterexample of any failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/cache/cache.ts';
import type { CacheStatus } from '../../src/cache/index.ts';
import { ManualClock } from '../../src/cache/index.ts';
import { MemoryStore } from '../../src/cache/memory-store.ts';
import type { CacheError } from '../../src/cache/errors.ts';
import type { CacheStore } from '../../src/cache/store.ts';

type Scheduler = fc.Scheduler;

/** One instance's connection: calls reach the shared store in the order they were made, each after a scheduled delay. */
function fifo(inner: CacheStore, s: Scheduler): CacheStore {
  const queue: (() => void)[] = [];
  const call = <T>(fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      queue.push(() => void fn().then(resolve, reject));
      void s.schedule(Promise.resolve('store call')).then(() => queue.shift()?.());
    });
  return {
    kind: inner.kind,
    ordersUntaggedWrites: inner.ordersUntaggedWrites,
    readEntry: (k, t) => call(() => inner.readEntry(k, t)),
    read: (r) => call(() => inner.readEntry(r.fullKey, r.tags)).then((e) => r.onEntry(e), (err: CacheError) => r.onError(err)),
    readEntries: (k) => call(() => inner.readEntries(k)),
    write: (e) => call(() => inner.write(e)),
    setRaw: (k, v, t) => call(() => inner.setRaw(k, v, t)),
    acquire: (k, r) => call(() => inner.acquire(k, r)),
    tryLease: (k, t, ms, now) => call(() => inner.tryLease(k, t, ms, now)),
    watchLease: (k) => inner.watchLease(k),
    commit: (k, t, e) => call(() => inner.commit(k, t, e)),
    failSafe: (k, t, x, r) => call(() => inner.failSafe(k, t, x, r)),
    release: (k, t) => call(() => inner.release(k, t)),
    invalidateTags: (t) => call(() => inner.invalidateTags(t)),
    delete: (k) => call(() => inner.delete(k)),
    deletePattern: (p, b) => call(() => inner.deletePattern(p, b)),
    incrBy: (k, d, t) => call(() => inner.incrBy(k, d, t)),
    pttl: (k) => call(() => inner.pttl(k)),
    size: () => call(() => inner.size()),
    close: () => inner.close(),
  };
}

const KEYS = ['item:1', 'item:2'] as const;
type Key = (typeof KEYS)[number];
type Invalidation = 'del' | 'pattern' | 'key-tag' | 'group-tag';

type Op =
  | { kind: 'read'; instance: number; key: Key }
  | { kind: 'write'; instance: number; key: Key; how: Invalidation }
  | { kind: 'invalidate'; instance: number; key: Key; how: Invalidation }
  | { kind: 'tick'; ms: number };

const instance = fc.integer({ min: 0, max: 2 });
// Races need two operations on one key, so one key is hot; the other checks that pattern and
// group-tag invalidations do not disturb what they should not.
const key = fc.oneof({ weight: 6, arbitrary: fc.constant<Key>('item:1') }, { weight: 1, arbitrary: fc.constant<Key>('item:2') });
const how = fc.constantFrom<Invalidation>('del', 'pattern', 'key-tag', 'group-tag');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('read' as const), instance, key }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), instance, key, how }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalidate' as const), instance, key, how }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 8_000 }) }) },
);

interface Row {
  key: Key;
  version: number;
}
interface ReadLog {
  key: Key;
  start: number;
  version: number;
  status: CacheStatus;
}
interface WriteLog {
  key: Key;
  finish: number;
  version: number;
}

async function invalidate(cache: Cache, k: Key, h: Invalidation): Promise<void> {
  if (h === 'del') await cache.del(k);
  else if (h === 'pattern') await cache.invalidatePattern(k === 'item:1' ? 'item:1' : 'item:*');
  else if (h === 'key-tag') await cache.invalidateTags([`t:${k}`]);
  else await cache.invalidateTags(['all']);
}

/** The property; `leases` false shows it can fail. */
function property(leases: boolean): fc.IAsyncPropertyWithHooks<[Scheduler, Op[], number, number]> {
  return fc.asyncProperty(fc.scheduler(), fc.array(op, { minLength: 2, maxLength: 12 }), fc.constantFrom(0, 5), fc.integer(), async (s, ops, graceSeconds, seed) => {
    const clock = new ManualClock(1_700_000_000_000);
    const shared = new MemoryStore({ clock });
    let r = seed >>> 0;
    const random = (): number => ((r = (r * 1_103_515_245 + 12_345) >>> 0) / 4_294_967_296);
    const caches = [0, 1, 2].map(() => new Cache({ clock, random, graceSeconds, jitter: 0, leases }, { store: fifo(shared, s), sleep: () => s.schedule(Promise.resolve()).then(() => undefined) }));
    const table = new Map<Key, Row>(KEYS.map((k) => [k, { key: k, version: 0 }]));
    let t = 0;
    const reads: ReadLog[] = [];
    const writes: WriteLog[] = [];
    const fetcher = (k: Key) => async (): Promise<Row> => {
      await s.schedule(Promise.resolve('fetch: query sent'));
      const row = { ...(table.get(k) as Row) };
      await s.schedule(Promise.resolve('fetch: result back'));
      return row;
    };
    const run = async (o: Op): Promise<void> => {
      await s.schedule(Promise.resolve(`start ${o.kind}`));
      if (o.kind === 'tick') {
        clock.advance(o.ms);
        return;
      }
      const cache = caches[o.instance] as Cache;
      if (o.kind === 'read') {
        const start = ++t;
        const res = await cache.getOrSetWithMeta(o.key, fetcher(o.key), { ttl: 10, tags: [`t:${o.key}`, 'all'] });
        reads.push({ key: o.key, start, version: res.value.version, status: res.status });
        return;
      }
      if (o.kind === 'write') {
        const row = table.get(o.key) as Row;
        const version = row.version + 1;
        table.set(o.key, { key: o.key, version }); // the database commit, then the invalidation
        await invalidate(cache, o.key, o.how);
        writes.push({ key: o.key, finish: ++t, version });
        return;
      }
      await invalidate(cache, o.key, o.how);
    };
    const done = Promise.all(ops.map(run));
    await s.waitFor(done);
    // Background refreshes and writes (early refresh) also advance only through the scheduler.
    await s.waitFor(Promise.all(caches.map((c) => c.idle())));
    await s.waitAll();

    for (const k of KEYS) {
      const entry = await shared.readEntry(k);
      if (entry === null || clock.now() >= entry.graceUntilMs) continue;
      const cached = caches[0]?.options.serializer.decode(entry.value) as Row;
      expect(cached, `cache holds ${JSON.stringify(cached)} for ${k}, table ${JSON.stringify(table.get(k))}`).toEqual(table.get(k));
    }
    for (const rd of reads) {
      if (rd.status === 'stale') continue;
      for (const w of writes) {
        if (w.key === rd.key && w.finish < rd.start) {
          expect(rd.version, `read of ${rd.key} began at ${rd.start} after write v${w.version} finished at ${w.finish}`).toBeGreaterThanOrEqual(w.version);
        }
      }
    }
    for (const c of caches) await c.close();
  });
}

describe('randomised interleavings (fast-check scheduler)', () => {
  it('3 instances, reads / writes + invalidations / invalidations / ticks, 2,000 runs: the cache never disagrees with the table', async () => {
    await fc.assert(property(true), { numRuns: 2000 });
  });

  it('the same property with leases off finds a violation (the test can catch the bug)', async () => {
    const out = await fc.check(property(false), { numRuns: 2000 });
    expect(out.failed, 'no violation found with leases off').toBe(true);
  });
});
