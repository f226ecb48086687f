/**
 * XFetch early refresh, shown statistically on a simulated hot key: the memory store, a
 * ManualClock and a seeded random source, a read every 5 ms of simulated time for 60 TTL
 * windows, and a fetch that takes 300 ms of simulated time.
 */
import { describe, expect, it } from 'vitest';
import type { CacheStatus } from '../../src/cache/index.ts';
import { createCache, ManualClock } from '../../src/cache/index.ts';
import { shouldRefreshEarly } from '../../src/cache/xfetch.ts';

/** mulberry32: a small seeded PRNG, so every run draws the same numbers. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TTL_S = 10;
const FETCH_MS = 300;
const READ_EVERY_MS = 5;
const WINDOWS = 60;

interface SimResult {
  statuses: Map<CacheStatus, number>;
  fetches: number;
  earlyRefreshes: number;
  windows: number;
}

async function simulate(earlyRefresh: boolean, seed: number): Promise<SimResult> {
  const clock = new ManualClock(1_700_000_000_000);
  const cache = createCache({ clock, random: seeded(seed), earlyRefresh });
  const timers: { at: number; fire: () => void }[] = [];
  const simSleep = (ms: number): Promise<void> => new Promise((resolve) => timers.push({ at: clock.now() + ms, fire: resolve }));
  let version = 0;
  let fetches = 0;
  const fetcher = async (): Promise<number> => {
    fetches++;
    await simSleep(FETCH_MS);
    return ++version;
  };
  const statuses = new Map<CacheStatus, number>();
  const read = (): void => {
    cache
      .getOrSetWithMeta('leaderboard:global', fetcher, TTL_S)
      .then((r) => statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1))
      .catch(() => statuses.set('miss', Infinity));
  };
  const step = async (): Promise<void> => {
    clock.advance(READ_EVERY_MS);
    for (const t of timers.filter((x) => x.at <= clock.now())) {
      timers.splice(timers.indexOf(t), 1);
      t.fire();
    }
    await new Promise((r) => setImmediate(r));
  };
  // Warm-up: the first read fetches; only what follows is measured.
  const warm = cache.getOrSet('leaderboard:global', fetcher, TTL_S);
  let warmed = false;
  void warm.then(() => (warmed = true));
  while (!warmed) await step();
  cache.resetStats();
  fetches = 0;
  const endAt = clock.now() + WINDOWS * TTL_S * 1000;
  while (clock.now() < endAt) {
    read();
    await step();
  }
  await cache.idle();
  const stats = await cache.getStats();
  await cache.close();
  return { statuses, fetches, earlyRefreshes: stats.earlyRefreshes, windows: WINDOWS };
}

describe('XFetch early refresh (simulated hot key)', () => {
  it('refreshes between 1 and 3 times per TTL window on average, and no read misses', async () => {
    for (const seed of [1, 2, 3]) {
      const r = await simulate(true, seed);
      const perWindow = r.fetches / r.windows;
      expect(r.statuses.get('miss') ?? 0, `seed ${seed}`).toBe(0);
      expect(r.statuses.get('stale') ?? 0, `seed ${seed}`).toBe(0);
      expect(r.earlyRefreshes, `seed ${seed}`).toBe(r.fetches);
      expect(perWindow, `seed ${seed}: ${r.fetches} refreshes in ${r.windows} windows`).toBeGreaterThanOrEqual(1);
      expect(perWindow, `seed ${seed}`).toBeLessThanOrEqual(3);
    }
  });

  it('without early refresh the same key misses at every expiry (what XFetch removes)', async () => {
    const r = await simulate(false, 1);
    expect(r.earlyRefreshes).toBe(0);
    expect(r.statuses.get('miss') ?? 0).toBeGreaterThanOrEqual(WINDOWS * 0.8);
  });

  it('the XFetch rule: never early with no measured fetch time, more likely as expiry nears and for slower fetches', () => {
    const rng = seeded(9);
    const rate = (gapMs: number, fetchMs: number): number => {
      let n = 0;
      for (let i = 0; i < 20_000; i++) if (shouldRefreshEarly(0, gapMs, fetchMs, 1, rng)) n++;
      return n / 20_000;
    };
    expect(rate(1, 0)).toBe(0);
    // P(refresh) = exp(−gap / (δ·β)).
    expect(rate(300, 300)).toBeCloseTo(Math.exp(-1), 1);
    expect(rate(900, 300)).toBeCloseTo(Math.exp(-3), 1);
    expect(rate(900, 900)).toBeGreaterThan(rate(900, 300));
    expect(rate(0, 300)).toBe(1);
  });
});
