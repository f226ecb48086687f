/**
 * getOrSet semantics of issue 5 (leases, grace, fail-safe, timeouts, negative caching, jitter,
 * tags), run against the memory store and a real redis-server by the files that import this,
 * so development and the simulator behave like production. Logical time is a ManualClock
 * (starting at the real time, so Redis's physical TTLs still line up).
 */
import { describe, expect, it } from 'vitest';
import type { Cache, CacheOptions } from '../../src/cache/index.ts';
import { FactoryTimeoutError, InvalidTagError, ManualClock } from '../../src/cache/index.ts';

export interface GetOrSetHarness {
  /** `n` caches sharing one store (Redis: one prefix, one connection each). */
  makeShared(n: number, opts?: Omit<CacheOptions, 'redis' | 'prefix'>): Promise<Cache[]>;
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function getOrSetContract(name: string, h: GetOrSetHarness): void {
  const one = async (opts?: Omit<CacheOptions, 'redis' | 'prefix'>): Promise<Cache> => (await h.makeShared(1, opts))[0] as Cache;
  const closeAll = async (caches: Cache[]): Promise<void> => {
    for (const c of caches) await c.idle();
    for (const c of caches) await c.close();
  };

  describe(`getOrSet contract: ${name}`, () => {
    it('lease: a value fetched before del is not written after it; the next read fetches the new row', async () => {
      const c = await one();
      const row = { v: 1 };
      const paused = deferred();
      const started = deferred();
      const reader = c.getOrSet('user:1', async () => {
        const snapshot = { ...row };
        started.resolve();
        await paused.promise;
        return snapshot;
      }, 60);
      await started.promise;
      row.v = 2;
      await c.del('user:1');
      paused.resolve();
      expect(await reader).toEqual({ v: 1 }); // the reader began before the write: it may see the old row
      expect(await c.get('user:1')).toBeNull();
      expect((await c.getStats()).staleWritesPrevented).toBe(1);
      expect(await c.getOrSet('user:1', () => ({ ...row }), 60)).toEqual({ v: 2 });
      await closeAll([c]);
    });

    it('grace: past the TTL one caller refreshes under the lease, every other (any instance) gets stale at once', async () => {
      const clock = new ManualClock(Date.now());
      const [a, b] = await h.makeShared(2, { clock, jitter: 0 });
      if (a === undefined || b === undefined) throw new Error('no caches');
      const opts = { ttl: 60, graceSeconds: 300 };
      expect(await a.getOrSet('leaderboard:global', () => 'v1', opts)).toBe('v1');
      clock.advance(61_000);
      const gate = deferred<string>();
      let fetches = 0;
      const slow = (): Promise<string> => {
        fetches++;
        return gate.promise;
      };
      const leader = a.getOrSetWithMeta('leaderboard:global', slow, opts);
      await sleep(20);
      const others = await Promise.all([
        ...Array.from({ length: 5 }, () => a.getOrSetWithMeta('leaderboard:global', slow, opts)),
        ...Array.from({ length: 5 }, () => b.getOrSetWithMeta('leaderboard:global', slow, opts)),
      ]);
      expect(others.every((r) => r.status === 'stale' && r.value === 'v1')).toBe(true);
      gate.resolve('v2');
      expect(await leader).toEqual({ value: 'v2', status: 'miss' });
      expect(await b.getOrSetWithMeta('leaderboard:global', slow, opts)).toEqual({ value: 'v2', status: 'hit' });
      expect(fetches).toBe(1);
      const bStats = await b.getStats();
      expect(bStats.stale).toBe(5);
      // Counted under the key's namespace too (the dashboard's per-namespace table reads it).
      expect(bStats.namespaces['leaderboard']?.stale).toBe(5);
      await closeAll([a, b]);
    });

    it('fail-safe: a failing refresh serves stale, is not retried before failSafeRetryMs, and past grace the error propagates', async () => {
      const clock = new ManualClock(Date.now());
      const c = await one({ clock, jitter: 0, failSafeRetryMs: 10_000 });
      const opts = { ttl: 60, graceSeconds: 120 };
      await c.getOrSet('jobs:open:0', () => ['job 1'], opts);
      clock.advance(61_000);
      let fetches = 0;
      const down = (): Promise<string[]> => {
        fetches++;
        return Promise.reject(new Error('db down'));
      };
      expect(await c.getOrSetWithMeta('jobs:open:0', down, opts)).toEqual({ value: ['job 1'], status: 'stale' });
      clock.advance(5_000);
      expect(await c.getOrSetWithMeta('jobs:open:0', down, opts)).toEqual({ value: ['job 1'], status: 'stale' });
      expect(fetches).toBe(1);
      clock.advance(5_001);
      expect(await c.getOrSetWithMeta('jobs:open:0', down, opts)).toEqual({ value: ['job 1'], status: 'stale' });
      expect(fetches).toBe(2);
      const s = await c.getStats();
      expect(s.failSafe).toBe(2);
      expect(s.errors).toBe(2); // each reported as E_FETCH_FAILED
      clock.advance(120_000); // past the grace period
      await expect(c.getOrSet('jobs:open:0', down, opts)).rejects.toThrow('db down');
      expect(await c.getOrSet('jobs:open:0', () => ['job 2'], opts)).toEqual(['job 2']);
      await closeAll([c]);
    });

    it('fail-safe never serves a value invalidated while the refresh ran', async () => {
      const clock = new ManualClock(Date.now());
      const c = await one({ clock, jitter: 0 });
      const opts = { ttl: 60, graceSeconds: 120 };
      await c.getOrSet('wallet:1:balance', () => 10, opts);
      clock.advance(61_000);
      const gate = deferred<number>();
      const p = c.getOrSet('wallet:1:balance', () => gate.promise, opts);
      await sleep(10);
      await c.del('wallet:1:balance');
      gate.reject(new Error('db down'));
      await expect(p).rejects.toThrow('db down');
      await closeAll([c]);
    });

    it('softTimeoutMs answers stale, then the background refresh is written; hardTimeoutMs rejects with FactoryTimeoutError', async () => {
      const clock = new ManualClock(Date.now());
      const c = await one({ clock, jitter: 0 });
      await c.getOrSet('leaderboard:weekly', () => 'old', { ttl: 60, graceSeconds: 600 });
      clock.advance(61_000);
      const t0 = performance.now();
      const slow = async (): Promise<string> => {
        await sleep(150);
        return 'new';
      };
      expect(await c.getOrSetWithMeta('leaderboard:weekly', slow, { ttl: 60, graceSeconds: 600, softTimeoutMs: 20 })).toEqual({ value: 'old', status: 'stale' });
      expect(performance.now() - t0).toBeLessThan(120);
      await c.idle();
      expect(await c.get('leaderboard:weekly')).toBe('new');

      const t1 = performance.now();
      const hang = (): Promise<string> => sleep(1_000).then(() => 'late');
      const err: unknown = await c.getOrSet('job:7', hang, { ttl: 60, hardTimeoutMs: 50 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FactoryTimeoutError);
      expect((err as FactoryTimeoutError).code).toBe('E_FACTORY_TIMEOUT');
      expect(performance.now() - t1).toBeLessThan(400);
      // The lease was released: the next caller fetches at once instead of waiting for it.
      const t2 = performance.now();
      expect(await c.getOrSet('job:7', () => 'fast', 60)).toBe('fast');
      expect(performance.now() - t2).toBeLessThan(200);
      // With a stale value at hand, the hard time-out serves it (fail-safe).
      clock.advance(61_000);
      expect(await c.getOrSetWithMeta('leaderboard:weekly', hang, { ttl: 60, graceSeconds: 600, hardTimeoutMs: 30 })).toEqual({ value: 'new', status: 'stale' });
      await closeAll([c]);
    });

    it('negative caching: null is cached for negativeTtlSeconds (never longer than the TTL); per-call opt-out', async () => {
      const clock = new ManualClock(Date.now());
      const c = await one({ clock, jitter: 0 });
      let lookups = 0;
      const missing = (): null => {
        lookups++;
        return null;
      };
      expect(await c.getOrSet('user:404:profile', missing, 3600)).toBeNull();
      expect(await c.getOrSetWithMeta('user:404:profile', missing, 3600)).toEqual({ value: null, status: 'hit' });
      expect(lookups).toBe(1);
      expect(await c.ttl('user:404:profile')).toBe(30);
      clock.advance(30_000);
      await c.getOrSet('user:404:profile', missing, 3600);
      expect(lookups).toBe(2);
      await c.getOrSet('user:405:profile', missing, 10);
      expect(await c.ttl('user:405:profile')).toBe(10);
      await c.getOrSet('user:406:profile', missing, { ttl: 3600, negativeTtlSeconds: false });
      await c.getOrSet('user:406:profile', missing, { ttl: 3600, negativeTtlSeconds: false });
      expect(lookups).toBe(5);
      expect(await c.has('user:406:profile')).toBe(false);
      await closeAll([c]);
    });

    it('jitter: getOrSet TTLs spread within ±10 % by default, exactly at the bounds, and set never jitters', async () => {
      const clock = new ManualClock(Date.now());
      const lows = await one({ clock, random: () => 0 });
      const highs = await one({ clock, random: () => 0.999_999 });
      await lows.getOrSet('user:1', () => 1, 1000);
      await highs.getOrSet('user:2', () => 2, 1000);
      const low = await lows.store.readEntry(lows.options.prefix + 'user:1');
      const high = await highs.store.readEntry(highs.options.prefix + 'user:2');
      expect((low?.freshUntilMs ?? 0) - clock.now()).toBe(900_000);
      expect((high?.freshUntilMs ?? 0) - clock.now()).toBe(1_100_000);
      const c = await one({ clock });
      const ttls: number[] = [];
      for (let i = 0; i < 200; i++) {
        await c.getOrSet(`guild:${i}`, () => i, 1000);
        ttls.push((await c.ttl(`guild:${i}`)) ?? -1);
      }
      expect(Math.min(...ttls)).toBeGreaterThanOrEqual(900);
      expect(Math.max(...ttls)).toBeLessThanOrEqual(1100);
      expect(new Set(ttls).size).toBeGreaterThan(100);
      expect(ttls.filter((t) => t < 1000).length).toBeGreaterThan(60);
      expect(ttls.filter((t) => t > 1000).length).toBeGreaterThan(60);
      await c.set('guild:exact', 1, 1000);
      expect(await c.ttl('guild:exact')).toBe(1000);
      await closeAll([lows, highs, c]);
    });

    it('tags: invalidateTags removes every value under the tag on every instance, and nothing else', async () => {
      const [a, b] = await h.makeShared(2);
      if (a === undefined || b === undefined) throw new Error('no caches');
      let fetches = 0;
      const members = (g: number) => (): number[] => {
        fetches++;
        return [g, fetches];
      };
      await a.getOrSet('guild:1:members', members(1), { ttl: 600, tags: ['guild:1'] });
      await a.set('guild:1', { id: 1 }, { ttl: 600, tags: ['guild:1', 'guilds'] });
      await a.set('guild:2', { id: 2 }, { ttl: 600, tags: ['guilds'] });
      await a.set('user:1', { id: 1 }, 600);
      expect(await b.getOrSetWithMeta('guild:1:members', members(1), { ttl: 600, tags: ['guild:1'] })).toEqual({ value: [1, 1], status: 'hit' });
      await b.invalidateTags(['guild:1']);
      expect(await a.get('guild:1')).toBeNull();
      expect(await a.getMany(['guild:1', 'guild:2', 'user:1'])).toEqual([null, { id: 2 }, { id: 1 }]);
      expect(await a.getOrSetWithMeta('guild:1:members', members(1), { ttl: 600, tags: ['guild:1'] })).toEqual({ value: [1, 2], status: 'miss' });
      await a.invalidateTags(['guilds', 'never-used']);
      expect(await b.has('guild:2')).toBe(false);
      expect(await b.get('guild:1:members')).toEqual([1, 2]);
      await expect(a.invalidateTags(['bad tag'])).rejects.toBeInstanceOf(InvalidTagError);
      await expect(a.set('k', 1, { ttl: 5, tags: ['a;b'] })).rejects.toMatchObject({ code: 'E_INVALID_TAG' });
      await closeAll([a, b]);
    });

    it('tags: a fetch that began before invalidateTags is not written after it (the tag revokes the lease)', async () => {
      const [a, b] = await h.makeShared(2);
      if (a === undefined || b === undefined) throw new Error('no caches');
      const paused = deferred();
      const started = deferred();
      let version = 1;
      const opts = { ttl: 600, tags: ['guild:9'] };
      const reader = a.getOrSet('guild:9', async () => {
        const seen = version;
        started.resolve();
        await paused.promise;
        return seen;
      }, opts);
      await started.promise;
      version = 2;
      await b.invalidateTags(['guild:9']);
      paused.resolve();
      expect(await reader).toBe(1);
      expect(await a.get('guild:9')).toBeNull();
      expect(await b.getOrSet('guild:9', () => version, opts)).toBe(2);
      await closeAll([a, b]);
    });

    it('set and getOrSet replace a key whole: set revokes a running lease; values written by set are read by getOrSet', async () => {
      const c = await one();
      const paused = deferred();
      const started = deferred();
      const reader = c.getOrSet('user:3', async () => {
        started.resolve();
        await paused.promise;
        return 'old';
      }, 60);
      await started.promise;
      await c.set('user:3', 'new', 60);
      paused.resolve();
      expect(await reader).toBe('old');
      expect(await c.getOrSetWithMeta('user:3', () => 'fetched', 60)).toEqual({ value: 'new', status: 'hit' });
      await closeAll([c]);
    });
  });
}
