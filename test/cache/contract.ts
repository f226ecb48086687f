/**
 * One contract, two stores: every behaviour the facade promises, run against the memory store
 * and against a real redis-server by the files that import this.
 */
import { describe, expect, it } from 'vitest';
import { deferred } from './get-or-set-contract.ts';
import type { Cache } from '../../src/cache/index.ts';
import { CacheKeys, CacheTTL, InvalidKeyError, InvalidTtlError, UndefinedValueError, ValueTooLargeError } from '../../src/cache/index.ts';

export interface ContractHarness {
  /** A fresh cache with a unique prefix. */
  make(opts?: { maxValueBytes?: number; prefix?: string }): Promise<Cache>;
  /** Writes a raw string under a key (the cache's prefix is applied), bypassing the serializer. */
  writeRaw(cache: Cache, key: string, raw: string): Promise<void>;
}

export function cacheContract(name: string, h: ContractHarness): void {
  describe(`cache contract: ${name}`, () => {
    it('get returns null for a missing key and counts a miss', async () => {
      const c = await h.make();
      expect(await c.get('user:1:profile')).toBeNull();
      const s = await c.getStats();
      expect(s.misses).toBe(1);
      expect(s.hits).toBe(0);
      await c.close();
    });

    it('set then get round-trips nested values, null, Date, BigInt, Map and Set', async () => {
      const c = await h.make();
      const value = {
        id: 7,
        name: 'Ada',
        createdAt: new Date('2024-02-03T04:05:06.789Z'),
        balance: 12345678901234567890n,
        tags: new Set(['a', 'b']),
        roles: new Map<string, unknown>([['guild:1', { since: new Date(0) }]]),
        nested: [{ deep: [1, 2, { x: null }] }],
        lookalike: { $rcl: 'D', v: 5 },
      };
      await c.set('user:7:profile', value, CacheTTL.MEDIUM);
      const got = await c.get<typeof value>('user:7:profile');
      expect(got).toEqual(value);
      expect(got?.createdAt).toBeInstanceOf(Date);
      expect(typeof got?.balance).toBe('bigint');
      expect(got?.roles.get('guild:1')).toEqual({ since: new Date(0) });
      await c.set('user:8:profile', null, CacheTTL.SHORT);
      expect(await c.has('user:8:profile')).toBe(true);
      expect(await c.get('user:8:profile')).toBeNull();
      expect((await c.getStats()).hits).toBe(2);
      await c.close();
    });

    it('refuses undefined, oversized values, bad keys and bad TTLs with typed errors', async () => {
      const c = await h.make({ maxValueBytes: 1024 });
      await expect(c.set('k:1', undefined, 10)).rejects.toBeInstanceOf(UndefinedValueError);
      await expect(c.set('k:1', 'x'.repeat(2000), 10)).rejects.toBeInstanceOf(ValueTooLargeError);
      await expect(c.set('k:1', 'é'.repeat(600), 10)).rejects.toMatchObject({ code: 'E_VALUE_TOO_LARGE' });
      await expect(c.set('k:1', 1, 0)).rejects.toBeInstanceOf(InvalidTtlError);
      await expect(c.set('k:1', 1, -5)).rejects.toBeInstanceOf(InvalidTtlError);
      await expect(c.set('k:1', 1, Number.NaN)).rejects.toBeInstanceOf(InvalidTtlError);
      await expect(c.set('', 1, 10)).rejects.toBeInstanceOf(InvalidKeyError);
      // The cache's own keys (tag versions `#tag:…`, lease keys `<key>\0lease`; a lease marker is a value starting with NUL) cannot be named.
      await expect(c.set('#tag:guild:1', 1, 10)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(c.get('k:1\u0000lease')).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(c.invalidatePattern('#*')).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(c.getOrSet('k:2', () => undefined, 10)).rejects.toBeInstanceOf(UndefinedValueError);
      expect(await c.has('k:1')).toBe(false);
      await c.close();
    });

    it('ttl reports the seconds given', async () => {
      const c = await h.make();
      await c.set('guild:1', { n: 1 }, CacheTTL.LONG);
      const t = await c.ttl('guild:1');
      expect(t).not.toBeNull();
      expect(t).toBeGreaterThanOrEqual(3599);
      expect(t).toBeLessThanOrEqual(3600);
      expect(await c.ttl('guild:404')).toBeNull();
      await c.close();
    });

    it('getMany and setMany', async () => {
      const c = await h.make();
      await c.setMany([
        { key: 'user:1', value: { n: 1 }, ttl: 60 },
        { key: 'user:2', value: [new Date(5)], ttl: { ttl: 60 } },
      ]);
      expect(await c.getMany(['user:1', 'user:3', 'user:2'])).toEqual([{ n: 1 }, null, [new Date(5)]]);
      expect(await c.getMany([])).toEqual([]);
      const s = await c.getStats();
      expect(s.hits).toBe(2);
      expect(s.misses).toBe(1);
      await c.close();
    });

    it('del removes one key or several and returns how many existed', async () => {
      const c = await h.make();
      await c.set('a:1', 1, 60);
      await c.set('a:2', 2, 60);
      await c.set('a:3', 3, 60);
      expect(await c.del('a:1')).toBe(1);
      expect(await c.del(['a:2', 'a:3', 'a:4'])).toBe(2);
      expect(await c.get('a:2')).toBeNull();
      await c.close();
    });

    it('invalidatePattern deletes only what matches: chat 1 pages, not chat 12', async () => {
      const c = await h.make();
      for (const chat of [1, 12]) for (let p = 0; p < 30; p++) await c.set(CacheKeys.chatMessages(chat, p), { chat, p }, 60);
      await c.set(CacheKeys.chat(1), { chat: 1 }, 60);
      expect(await c.invalidatePattern('chat:1:messages:*')).toBe(30);
      expect(await c.get(CacheKeys.chatMessages(1, 0))).toBeNull();
      expect(await c.get(CacheKeys.chatMessages(12, 0))).toEqual({ chat: 12, p: 0 });
      expect(await c.get(CacheKeys.chatMessages(12, 29))).toEqual({ chat: 12, p: 29 });
      expect(await c.get(CacheKeys.chat(1))).toEqual({ chat: 1 });
      await c.close();
    });

    it("invalidatePattern counts entries, counters and a miss's lease, not the cache's own other keys, and revokes that lease", async () => {
      const c = await h.make();
      await c.set('a:1', 1, { ttl: 60, tags: ['t:1'] }); // also writes the tag's version key
      await c.incr('n:1', 1, 60);
      const started = deferred();
      const fetched = deferred<string>();
      const pending = c.getOrSet('b:1', () => {
        started.resolve();
        return fetched.promise;
      }, 60);
      await started.promise; // b:1 has a lease and no entry
      // a:1, n:1 and b:1's lease (which lives under b:1 itself); not the tag's version key.
      expect(await c.invalidatePattern('*')).toBe(3);
      fetched.resolve('fetched before the invalidation');
      expect(await pending).toBe('fetched before the invalidation');
      await c.idle();
      expect(await c.get('b:1')).toBeNull(); // its write was refused
      expect((await c.getStats()).staleWritesPrevented).toBe(1);
      await c.close();
    });

    it('invalidatePattern stays inside the prefix, even a prefix with glob characters', async () => {
      const other = await h.make({ prefix: 'other[1]:' });
      const c = await h.make({ prefix: 'mine*:' });
      await other.set('user:1', 1, 60);
      await c.set('user:1', 1, 60);
      expect(await c.invalidatePattern('user:*')).toBe(1);
      expect(await other.get('user:1')).toBe(1);
      await other.close();
      await c.close();
    });

    it('incr creates the counter with its TTL and counts atomically', async () => {
      const c = await h.make();
      const key = CacheKeys.rateLimit('2001:db8::1', 'login');
      const results = await Promise.all(Array.from({ length: 50 }, () => c.incr(key, 1, 60)));
      expect(results.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await c.ttl(key)).toBeGreaterThan(0);
      expect(await c.ttl(key)).toBeLessThanOrEqual(60);
      expect(await c.decr(key, 5, 60)).toBe(45);
      expect(await c.get<number>(key)).toBe(45);
      expect(await c.incr('ratelimit:x:y')).toBe(1);
      expect(await c.ttl('ratelimit:x:y')).toBeGreaterThan(0);
      await c.close();
    });

    it('a value that fails to decode is a miss, counted, and deleted', async () => {
      const c = await h.make({ prefix: 'dec:' });
      await h.writeRaw(c, 'user:1', 'j{not json');
      await h.writeRaw(c, 'user:2', 'v9|from-the-future');
      expect(await c.get('user:1')).toBeNull();
      expect(await c.getOrSet('user:2', () => 'fresh', 60)).toBe('fresh');
      const s = await c.getStats();
      expect(s.decodeErrors).toBe(2);
      expect(s.misses).toBe(2);
      await expect.poll(() => c.has('user:1')).toBe(false);
      expect(await c.get('user:2')).toBe('fresh');
      await c.close();
    });

    it('__proto__ and constructor.prototype payloads pollute nothing', async () => {
      const c = await h.make({ prefix: 'proto:' });
      await h.writeRaw(c, 'p:1', 'j{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"ok":1}');
      await h.writeRaw(c, 'p:2', 't{"a":{"$rcl":"D","v":0},"__proto__":{"polluted":"yes"}}');
      const a = await c.get<Record<string, unknown>>('p:1');
      const b = await c.get<Record<string, unknown>>('p:2');
      expect(a).toEqual({ ok: 1 });
      expect(b).toEqual({ a: new Date(0) });
      const merged = Object.assign({}, a, b);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect((merged)['polluted']).toBeUndefined();
      expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
      // A value the application stores with such keys comes back without them, too.
      const evil = JSON.parse('{"__proto__":{"polluted":"yes"},"x":1}') as object;
      await c.set('p:3', evil, 60);
      expect(await c.get('p:3')).toEqual({ x: 1 });
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      await c.close();
    });

    it('getOrSet: 1,000 concurrent calls on one cold key run the fetcher once', async () => {
      const c = await h.make();
      let runs = 0;
      const fetcher = async (): Promise<{ n: number }> => {
        runs++;
        await new Promise((r) => setTimeout(r, 20));
        return { n: 42 };
      };
      const results = await Promise.all(Array.from({ length: 1000 }, () => c.getOrSet('user:9:profile', fetcher, 60)));
      expect(runs).toBe(1);
      expect(results.every((r) => r.n === 42)).toBe(true);
      expect(await c.getOrSet('user:9:profile', fetcher, 60)).toEqual({ n: 42 });
      expect(runs).toBe(1);
      await c.close();
    });

    it('getOrSet: a fetcher that throws is not cached and reaches every waiter', async () => {
      const c = await h.make();
      let runs = 0;
      const boom = new Error('db down');
      const fetcher = async (): Promise<number> => {
        runs++;
        // Long enough for the other 19 reads to come back and join, on a busy machine too.
        await new Promise((r) => setTimeout(r, 100));
        throw boom;
      };
      const settled = await Promise.allSettled(Array.from({ length: 20 }, () => c.getOrSet('job:1', fetcher, 60)));
      expect(runs).toBe(1);
      expect(settled.every((s) => s.status === 'rejected' && s.reason === boom)).toBe(true);
      expect(await c.has('job:1')).toBe(false);
      expect(await c.getOrSet('job:1', () => 5, 60)).toBe(5);
      await c.close();
    });

    it('getStats keeps per-namespace figures and the hit rate in percent', async () => {
      const c = await h.make();
      await c.set('user:1', 1, 60);
      await c.get('user:1');
      await c.get('user:1');
      await c.get('user:1');
      await c.get('user:2');
      await c.get('guild:1');
      const s = await c.getStats();
      expect(s.hitRate).toBe(60);
      expect(s.namespaces['user']).toEqual({ hits: 3, misses: 1, errors: 0, hitRate: 75, stale: 0 });
      expect(s.namespaces['guild']?.misses).toBe(1);
      expect(s.keys).toBeGreaterThanOrEqual(1);
      await c.close();
    });
  });
}
