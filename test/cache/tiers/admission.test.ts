/**
 * The in-process tier's admission rule, forced: a read whose answer arrives after the
 * invalidation of the change that replaced the value it carries must not be kept. The
 * randomised interleaving test (test/cache/interleavings.test.ts) rarely reaches this race (a
 * few times in 2,000 runs), so it is staged here step by step, on the memory store with an
 * invalidation source the test drives, without Redis. Each case is also run with the rule
 * switched off (MemoryTier.admit patched in the test, not in the library), where it must serve
 * the old value: the case reaches the race.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Cache } from '../../../src/cache/cache.ts';
import { ManualClock } from '../../../src/cache/index.ts';
import { MemoryStore } from '../../../src/cache/memory-store.ts';
import type { StoredEntry } from '../../../src/cache/entry.ts';
import type { CacheStore } from '../../../src/cache/store.ts';
import type { InvalidationHandlers } from '../../../src/cache/tiers/invalidation-source.ts';
import { MemoryTier } from '../../../src/cache/tiers/memory-tier.ts';

/** The shared store as one instance's connection whose read answers are held until `answer()`. */
function heldReads(inner: MemoryStore): { store: CacheStore; answer: () => void } {
  const held: (() => void)[] = [];
  const hold = (entry: Promise<StoredEntry | null>): Promise<StoredEntry | null> => new Promise((resolve) => held.push(() => resolve(entry)));
  // The store reads now (the value is the one before the change); the answer travels later.
  const reads: Pick<CacheStore, 'readEntry' | 'read'> = {
    readEntry: (key) => hold(inner.readEntry(key)),
    read: (r) => hold(inner.readEntry(r.fullKey)).then((e) => r.onEntry(e)),
  };
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'readEntry' || prop === 'read') return reads[prop];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, answer: () => held.shift()?.() };
}

/** Instance A (L1 on, reads held, its channel driven by `deliver()`) and instance B (writes at once) over one store. */
function setup(): { a: Cache; b: Cache; answer: () => void; deliver: () => void; close: () => Promise<void> } {
  const clock = new ManualClock(1_700_000_000_000);
  const shared = new MemoryStore({ clock });
  const news: (string | null)[] = [];
  shared.subscribeChanges((k) => news.push(k));
  let handlers: InvalidationHandlers | undefined;
  const held = heldReads(shared);
  const a = new Cache(
    { clock, l1: {} },
    {
      store: held.store,
      invalidations: (h) => {
        handlers = h;
        h.onUp();
        return { state: 'up', reconnects: 0, close: async () => h.onDown() };
      },
    },
  );
  const b = new Cache({ clock }, { store: shared });
  return {
    a,
    b,
    answer: held.answer,
    deliver: () => {
      for (const k of news.splice(0)) {
        if (k === null) handlers?.onFlush();
        else handlers?.onKey(k);
      }
    },
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}

/** MemoryTier.admit with every ticket made newer than any invalidation: the rule off, the channel-down rule kept. */
function admissionOff(): void {
  // Called with the tier as `this` below.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const admit = MemoryTier.prototype.admit;
  vi.spyOn(MemoryTier.prototype, 'admit').mockImplementation(function (this: MemoryTier, fullKey, ticket, value, freshUntilMs, fetchMs, tags, size) {
    admit.call(this, fullKey, ticket < 0 ? ticket : Number.MAX_SAFE_INTEGER, value, freshUntilMs, fetchMs, tags, size);
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

const untagged = 60;
const tagged = { ttl: 60, tags: ['t'] };

/**
 * A reads `k` (v1 in the store), B replaces it (`change`), A hears of it, then A's answer (v1)
 * arrives: A must not keep v1. Returns what A's next read answers (from L1 if v1 was kept).
 */
async function race(change: (b: Cache) => Promise<unknown>, read: 'get' | 'getOrSet', opts: number | { ttl: number; tags: string[] }): Promise<unknown> {
  const { a, b, answer, deliver, close } = setup();
  try {
    await b.set('k', 'v1', opts);
    deliver();
    const first = read === 'get' ? a.get('k') : a.getOrSet('k', () => 'fetched', opts);
    await change(b);
    deliver();
    answer();
    expect(await first).toBe('v1'); // read before the change: right at the time it was read
    const next = read === 'get' ? a.get('k') : a.getOrSet('k', () => 'fetched', opts);
    // Served from L1 at once, or a read held by the store: answer it.
    answer();
    const value = await next;
    await b.idle();
    await a.idle();
    return value;
  } finally {
    await close();
  }
}

describe('the in-process tier keeps no answer that arrived after its invalidation', () => {
  const cases: [string, (b: Cache) => Promise<unknown>, number | { ttl: number; tags: string[] }, unknown][] = [
    ['a set', (b) => b.set('k', 'v2', untagged), untagged, 'v2'],
    ['a del', (b) => b.del('k'), untagged, 'fetched'],
    ['an invalidatePattern', (b) => b.invalidatePattern('k*'), untagged, 'fetched'],
    ['an invalidateTags of its tag', (b) => b.invalidateTags(['t']), tagged, 'fetched'],
  ];
  for (const [name, change, opts, after] of cases) {
    for (const read of ['get', 'getOrSet'] as const) {
      it(`${read}, ${name} by another instance`, async () => {
        const expected = read === 'get' && after === 'fetched' ? null : after;
        expect(await race(change, read, opts)).toEqual(expected);
      });
      it(`${read}, ${name} by another instance: with the rule off, the old value is kept (the case reaches the race)`, async () => {
        admissionOff();
        expect(await race(change, read, opts)).toBe('v1');
      });
    }
  }
});
