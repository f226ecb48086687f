import { describe, expect, it } from 'vitest';
import { Cache as CacheClass } from '../../src/cache/cache.ts';
import { createCache, ManualClock, systemClock } from '../../src/cache/index.ts';
import type { Cache } from '../../src/cache/index.ts';
import { MemoryStore } from '../../src/cache/memory-store.ts';
import { tagKeyPrefix } from '../../src/cache/tags.ts';
import type { InvalidationHandlers } from '../../src/cache/tiers/invalidation-source.ts';
import { cacheContract } from './contract.ts';
import { getOrSetContract } from './get-or-set-contract.ts';

cacheContract('memory store', {
  make: async (opts) => createCache({ prefix: opts?.prefix ?? '', ...(opts?.maxValueBytes === undefined ? {} : { maxValueBytes: opts.maxValueBytes }) }),
  writeRaw: async (cache: Cache, key, raw) => cache.store.setRaw(cache.options.prefix + key, raw, 60_000),
});

getOrSetContract('memory store', {
  // Several caches over one store, as several processes share one Redis.
  makeShared: async (n, opts) => {
    const store = new MemoryStore({ clock: opts?.clock ?? systemClock });
    return Array.from({ length: n }, () => new CacheClass(opts ?? {}, { store }));
  },
});

// The same contract with every eligible read a leasing read (the read takes the lease on a miss).
getOrSetContract('memory store, leasing reads', {
  makeShared: async (n, opts) => {
    const store = new MemoryStore({ clock: opts?.clock ?? systemClock });
    return Array.from({ length: n }, () => new CacheClass({ leasingReads: 'always', ...opts }, { store }));
  },
});

describe('memory store specifics', () => {
  it('honours TTLs against the injected clock', async () => {
    const clock = new ManualClock(1_000_000);
    const c = createCache({ clock });
    await c.set('user:1', 'x', 30);
    clock.advance(29_999);
    expect(await c.get('user:1')).toBe('x');
    clock.advance(1);
    expect(await c.get('user:1')).toBeNull();
    await c.close();
  });

  it('is bounded by entries', async () => {
    const c = createCache({ memory: { maxEntries: 100 } });
    for (let i = 0; i < 500; i++) await c.set(`user:${i}`, i, 60);
    expect((await c.getStats()).keys).toBe(100);
    expect(await c.get('user:499')).toBe(499);
    expect(await c.get('user:0')).toBeNull();
    await c.close();
  });

  it('reports each change of a key, as Redis tracking does: entries, commits, deletes, patterns, tag versions, counters, expiry, eviction; close as a flush', async () => {
    const clock = new ManualClock(1_000_000);
    const store = new MemoryStore({ clock, tagKeyPrefix: tagKeyPrefix('app:'), maxEntries: 20 });
    const seen: (string | null)[] = [];
    const stop = store.subscribeChanges((k) => seen.push(k));
    const take = (): (string | null)[] => seen.splice(0).sort((x, y) => String(x).localeCompare(String(y)));
    const c = new CacheClass({ clock, prefix: 'app:' }, { store });
    await c.set('a', 1, 60);
    expect(take()).toEqual(['app:a']);
    // The tag's first version is created (a change of its key, named as on Redis); later writes only extend it.
    await c.set('b', 1, { ttl: 60, tags: ['t'] });
    expect(take()).toEqual(['app:#tag:t', 'app:b']);
    await c.set('b2', 1, { ttl: 60, tags: ['t'] });
    expect(take()).toEqual(['app:b2']);
    await c.invalidateTags(['t', 'never-written']);
    expect(take()).toEqual(['app:#tag:t']);
    await c.del(['a', 'missing']);
    expect(take()).toEqual(['app:a']);
    // A miss: the lease is not reported, the lease-checked write is.
    expect(await c.getOrSet('g', () => 'v', 60)).toBe('v');
    await c.idle();
    expect(take()).toEqual(['app:g']);
    // Dead entries (their tag moved) are still keys: deleting them is a change.
    expect(await c.invalidatePattern('b*')).toBe(2);
    expect(take()).toEqual(['app:b', 'app:b2']);
    await c.incr('n');
    await store.setRaw('app:raw', 'x', 60_000);
    expect(take()).toEqual(['app:n', 'app:raw']);
    // Expiry is reported when the store drops the key, on the next access (as Redis's lazy expiry).
    await c.set('e', 1, 1);
    take();
    clock.advance(1_001);
    expect(await c.get('e')).toBeNull();
    expect(take()).toEqual(['app:e']);
    // Past maxEntries (20), each evicted key is reported too.
    const held = await store.size();
    take();
    for (let i = 0; i < 25; i++) await c.set(`fill:${i}`, i, 60);
    const filled = take();
    for (let i = 0; i < 25; i++) expect(filled).toContain(`app:fill:${i}`);
    expect(filled).toHaveLength(25 + (held + 25 - 20));
    stop();
    await c.set('a', 2, 60);
    expect(take()).toEqual([]);
    store.subscribeChanges((k) => seen.push(k));
    await c.close();
    expect(take()).toEqual([null]);
  });

  it('runs the in-process tier only with an invalidation source: `l1` alone is ignored on the memory store', async () => {
    const plain = createCache({ l1: {} });
    await plain.set('a', 1, 60);
    expect(await plain.get('a')).toBe(1);
    expect(await plain.get('a')).toBe(1);
    expect((await plain.getStats()).l1).toBeNull();
    await plain.close();

    const store = new MemoryStore({ clock: systemClock });
    let handlers: InvalidationHandlers | undefined;
    const c = new CacheClass(
      { l1: {} },
      {
        store,
        invalidations: (h) => {
          handlers = h;
          h.onUp();
          return { state: 'up', reconnects: 0, close: async () => h.onDown() };
        },
      },
    );
    const writer = new CacheClass({}, { store });
    await writer.set('a', 1, 60);
    expect(await c.get('a')).toBe(1);
    expect(await c.get('a')).toBe(1);
    expect((await c.getStats()).l1Hits).toBe(1);
    expect((await c.getStats()).l1?.channel).toBe('up');
    // A write the tier was not told of is served from L1 until the message arrives: what the source is for.
    await writer.set('a', 2, 60);
    expect(await c.get('a')).toBe(1);
    handlers?.onKey('a');
    expect(await c.get('a')).toBe(2);
    await c.close();
    await writer.close();
  });

  it('is bounded by bytes', async () => {
    const c = createCache({ memory: { maxBytes: 100_000 } });
    for (let i = 0; i < 100; i++) await c.set(`blob:${i}`, 'x'.repeat(5_000), 60);
    expect((await c.getStats()).keys).toBeLessThanOrEqual(10);
    await c.close();
  });
});
