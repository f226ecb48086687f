/**
 * The in-process tier against real Redis: two cache instances on their own connections (A and
 * B), B's L1 evicted by every kind of change made on A or by a raw client, the channel's
 * failures (its connection killed, the server killed, the server frozen), the bounds, and the
 * per-call and per-namespace opt-outs.
 */
import { randomBytes } from 'node:crypto';
import { createCluster, createSentinel } from 'redis';
import { describe, expect, it } from 'vitest';
import { createCache, InvalidOptionsError, type Cache, type CacheOptions } from '../../../src/cache/index.ts';
import { TRACKING_CLIENT_NAME } from '../../../src/cache/tiers/tracking.ts';
import { FAST_CHANNEL, l1Hits, loadIntoL1, until } from '../../helpers/l1.ts';
import { redisForFile } from '../../helpers/redis-file.ts';

const redis = redisForFile();

async function pair(opts: Omit<CacheOptions, 'redis' | 'prefix'> = {}): Promise<{ a: Cache; b: Cache; prefix: string; close: () => Promise<void> }> {
  const prefix = `l1${randomBytes(4).toString('hex')}:`;
  const make = (): Cache => createCache({ redis: redis.server.url, prefix, l1: { ...FAST_CHANNEL }, ...opts });
  const a = make();
  const b = make();
  await a.ready();
  await b.ready();
  for (const c of [a, b]) await until('the channel is up', async () => (await c.getStats()).l1?.channel === 'up');
  return {
    a,
    b,
    prefix,
    close: async () => {
      for (const c of [a, b]) await c.idle();
      for (const c of [a, b]) await c.close();
    },
  };
}

describe('the in-process tier (l1)', () => {
  it('serves a repeated hit from memory: counted as an L1 hit, no Redis read', async () => {
    const { a, b, close } = await pair();
    try {
      await a.set('guild:1', { name: 'one' }, 60);
      // The set's own message first, so that it cannot void B's first read (see loadIntoL1).
      await until('B heard the set', async () => ((await b.getStats()).l1?.invalidations ?? 0) >= 1);
      const reads = async (): Promise<number> => Number(/^cmdstat_get:calls=(\d+)/m.exec(await redis.raw.info('commandstats'))?.[1] ?? 0);
      expect(await b.getOrSet('guild:1', () => ({ name: 'fetched' }), 60)).toEqual({ name: 'one' });
      const before = await reads();
      for (let i = 0; i < 20; i++) expect(await b.getOrSet('guild:1', () => ({ name: 'fetched' }), 60)).toEqual({ name: 'one' });
      expect(await b.get('guild:1')).toEqual({ name: 'one' });
      expect(await reads()).toBe(before);
      const s = await b.getStats();
      expect(s.l1Hits).toBe(21);
      expect(s.l2Hits).toBe(1);
      expect(s.hits).toBe(22);
      expect(s.l1).toMatchObject({ entries: 1, channel: 'up' });
    } finally {
      await close();
    }
  });

  // Each change is made on A (or by a raw client); B must stop serving its L1 copy, heard from Redis.
  const changes: [string, (a: Cache, prefix: string) => Promise<unknown>, unknown][] = [
    ['set on A', (a) => a.set('guild:7', { name: 'new' }, 60), { name: 'new' }],
    ['del on A', (a) => a.del('guild:7'), 'fetched'],
    ['invalidatePattern on A', (a) => a.invalidatePattern('guild:*'), 'fetched'],
    ['a SET from a raw client', (_a, prefix) => redis.raw.set(`${prefix}guild:7`, 'not an entry'), 'fetched'],
    ['a DEL from a raw client', (_a, prefix) => redis.raw.del(`${prefix}guild:7`), 'fetched'],
  ];
  for (const [name, change, after] of changes) {
    it(`${name} evicts B's L1 copy`, async () => {
      const { a, b, prefix, close } = await pair();
      try {
        await a.set('guild:7', { name: 'old' }, 60);
        await loadIntoL1(b, 'guild:7', { name: 'old' });
        await change(a, prefix);
        await until('B stops serving the old value', async () => {
          const v = await b.getOrSet('guild:7', () => 'fetched', 60);
          return JSON.stringify(v) !== JSON.stringify({ name: 'old' });
        });
        expect(await b.getOrSet('guild:7', () => 'fetched', 60)).toEqual(after);
        expect((await b.getStats()).l1?.invalidations).toBeGreaterThan(0);
      } finally {
        await close();
      }
    });
  }

  it("invalidateTags on A evicts B's tagged entries, and A's own at once", async () => {
    const { a, b, close } = await pair();
    try {
      const opts = { ttl: 60, tags: ['chat:3:messages'] };
      let n = 0;
      const fetcher = (): string => `page v${++n}`;
      expect(await a.getOrSet('chat:3:messages:1', fetcher, opts)).toBe('page v1');
      await a.idle();
      for (const c of [a, b]) {
        await until('the page served from L1', async () => {
          const before = await l1Hits(c);
          expect(await c.getOrSet('chat:3:messages:1', fetcher, opts)).toBe('page v1');
          return (await l1Hits(c)) === before + 1;
        });
      }
      await a.invalidateTags(['chat:3:messages']);
      // A reads its own invalidation at once, without waiting for Redis's message.
      expect(await a.getOrSet('chat:3:messages:1', fetcher, opts)).toBe('page v2');
      await a.idle();
      await until('B stops serving the old page', async () => (await b.getOrSet('chat:3:messages:1', fetcher, opts)) !== 'page v1');
    } finally {
      await close();
    }
  });

  it('an instance reads its own set and del at once (before its own message arrives)', async () => {
    const { a, close } = await pair();
    try {
      await a.set('user:5:profile', { v: 1 }, 60);
      await loadIntoL1(a, 'user:5:profile', { v: 1 });
      await a.set('user:5:profile', { v: 2 }, 60);
      expect(await a.get('user:5:profile')).toEqual({ v: 2 });
      await loadIntoL1(a, 'user:5:profile', { v: 2 });
      await a.del('user:5:profile');
      expect(await a.get('user:5:profile')).toBeNull();
    } finally {
      await close();
    }
  });

  it("killing B's invalidation connection empties B's L1; B answers from Redis meanwhile and uses L1 again once it is back", async () => {
    const { a, b, prefix, close } = await pair();
    try {
      await a.set('guild:9', { name: 'nine' }, 60);
      await loadIntoL1(b, 'guild:9', { name: 'nine' });
      const list = await redis.raw.sendCommand<string>(['CLIENT', 'LIST']);
      const trackers = list.split('\n').filter((l) => l.includes(`name=${TRACKING_CLIENT_NAME}`));
      expect(trackers).toHaveLength(2); // A's and B's (the other tests' caches are closed)
      const flushesBefore = (await b.getStats()).l1?.flushes ?? 0;
      // Kill both trackers' connections: whichever is B's, B loses its channel.
      for (const line of trackers) await redis.raw.sendCommand(['CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)?.[1] ?? '']);
      await until('B noticed', async () => ((await b.getStats()).l1?.flushes ?? 0) > flushesBefore);
      // Whatever the channel's state now, the next read is not served by an L1 filled before the loss.
      const hits = await l1Hits(b);
      expect(await b.getOrSet('guild:9', () => 'fetched', 60)).toEqual({ name: 'nine' });
      expect(await l1Hits(b)).toBe(hits);
      await until('B is back', async () => (await b.getStats()).l1?.channel === 'up');
      expect((await b.getStats()).l1?.channelReconnects).toBeGreaterThanOrEqual(1);
      // Back: a change is heard again.
      await loadIntoL1(b, 'guild:9', { name: 'nine' });
      await redis.raw.set(`${prefix}guild:9`, 'changed');
      await until('B hears the change', async () => (await b.getOrSet('guild:9', () => 'fetched', 60)) === 'fetched');
    } finally {
      await close();
    }
  });

  it('while Redis is down, B answers from the fetcher and serves nothing from L1; after the restart it refills from Redis', async () => {
    const { a, b, close } = await pair({ commandTimeoutMs: 200 });
    try {
      await a.set('guild:11', { name: 'eleven' }, 60);
      await loadIntoL1(b, 'guild:11', { name: 'eleven' });
      await redis.server.kill();
      await until('B notices', async () => (await b.getStats()).l1?.channel !== 'up');
      const hits = await l1Hits(b);
      expect(await b.getOrSet('guild:11', () => 'from the fetcher', 60)).toBe('from the fetcher');
      expect(await l1Hits(b)).toBe(hits);
      expect((await b.getStats()).l1?.entries).toBe(0);
      await redis.server.restart();
      await until('B is back', async () => (await b.getStats()).l1?.channel === 'up', 10_000);
      await a.ready();
      await b.ready();
      await until('A writes again', () => a.set('guild:11', { name: 'after restart' }, 60));
      await until('B reads the new value', async () => JSON.stringify(await b.getOrSet('guild:11', () => 'x', 60)) === JSON.stringify({ name: 'after restart' }));
    } finally {
      await close();
    }
  }, 30_000);

  it('a frozen Redis (SIGSTOP) puts the channel down: nothing is served from L1 after the freeze without a read from Redis', async () => {
    const { a, b, prefix, close } = await pair({ commandTimeoutMs: 200 });
    try {
      await a.set('guild:12', { name: 'before' }, 60);
      await loadIntoL1(b, 'guild:12', { name: 'before' });
      redis.server.freeze();
      try {
        // A write from elsewhere, sent during the freeze: Redis runs it when it wakes up.
        void redis.raw.set(`${prefix}guild:12`, 'written during the freeze').catch(() => undefined);
        await until('B gives up on its channel', async () => (await b.getStats()).l1?.channel === 'down');
        expect((await b.getStats()).l1?.entries).toBe(0);
      } finally {
        redis.server.resume();
      }
      await until('B is back', async () => (await b.getStats()).l1?.channel === 'up');
      await b.ready();
      const hits = await l1Hits(b);
      // The write made during the freeze is what B sees: read from Redis, not an old L1 copy.
      expect(await b.getOrSet('guild:12', () => 'fetched', 60)).toBe('fetched');
      expect(await l1Hits(b)).toBe(hits);
    } finally {
      await close();
    }
  }, 30_000);

  it('a value whose leased write was refused is not kept in L1; concurrent L1 misses share one fetch', async () => {
    const { a, b, close } = await pair();
    try {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((r) => (release = r));
      let fetches = 0;
      const slow = async (): Promise<string> => {
        fetches++;
        await gate;
        return 'fetched before the delete';
      };
      const pending = Array.from({ length: 10 }, () => b.getOrSet('guild:21', slow, 60));
      await until('the fetch started', () => fetches === 1);
      await a.del('guild:21'); // revokes B's lease: its write must be refused
      release();
      expect(await Promise.all(pending)).toEqual(Array(10).fill('fetched before the delete'));
      expect(fetches).toBe(1);
      await b.idle();
      expect((await b.getStats()).staleWritesPrevented).toBe(1);
      const hits = await l1Hits(b);
      expect(await b.getOrSet('guild:21', () => 'fetched after', 60)).toBe('fetched after');
      expect(await l1Hits(b)).toBe(hits);
    } finally {
      await close();
    }
  });

  it('keeps to maxEntries and maxBytes when ten times more is read than fits', async () => {
    const prefix = `l1${randomBytes(4).toString('hex')}:`;
    const c = createCache({ redis: redis.server.url, prefix, l1: { ...FAST_CHANNEL, maxEntries: 100, maxBytes: 1_000_000 } });
    const d = createCache({ redis: redis.server.url, prefix, l1: { ...FAST_CHANNEL, maxEntries: 10_000, maxBytes: 40_000 } });
    try {
      for (const x of [c, d]) await until('up', async () => (await x.getStats()).l1?.channel === 'up');
      const value = (i: number): { i: number; pad: string } => ({ i, pad: 'x'.repeat(1000) });
      // c: 100 entries fit; d: 40,000 bytes hold about 18 of these (~2 KB each, counted as UTF-16).
      for (let i = 0; i < 1000; i++) await c.set(`user:${i}:profile`, value(i), 60);
      for (const x of [c, d]) for (let i = 0; i < 1000; i++) expect(await x.getOrSet(`user:${i}:profile`, () => null, 60)).toEqual(value(i));
      const sc = (await c.getStats()).l1;
      const sd = (await d.getStats()).l1;
      expect(sc?.entries).toBe(100);
      expect(sc?.evictions).toBe(900);
      expect(sd?.bytes).toBeLessThanOrEqual(40_000);
      expect(sd?.entries).toBeGreaterThan(5);
      expect(sd?.entries).toBeLessThan(40);
      expect(sd?.evictions).toBeGreaterThan(900);
      // The most recent are the ones kept.
      const hits = (await c.getStats()).l1Hits;
      await c.getOrSet('user:999:profile', () => null, 60);
      expect((await c.getStats()).l1Hits).toBe(hits + 1);
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('skips L1 for `l1: false` calls and excluded namespaces, and freezes shared values outside production', async () => {
    const { a, close } = await pair({ l1: { ...FAST_CHANNEL, excludeNamespaces: ['wallet'] } });
    try {
      await a.set('wallet:1:balance', 100, 60);
      await a.set('guild:2', { members: [1, 2] }, 60);
      for (let i = 0; i < 3; i++) await a.getOrSet('wallet:1:balance', () => 0, 60);
      for (let i = 0; i < 3; i++) await a.getOrSet('guild:2', () => null, { ttl: 60, l1: false });
      expect(await l1Hits(a)).toBe(0);
      const shared = await a.getOrSet<{ members: number[] }>('guild:2', () => ({ members: [] }), 60);
      const again = await a.getOrSet<{ members: number[] }>('guild:2', () => ({ members: [] }), 60);
      expect(again).toBe(shared);
      expect(Object.isFrozen(again.members)).toBe(true);
      expect(() => again.members.push(3)).toThrow(TypeError);
    } finally {
      await close();
    }
  });

  it('refuses, with a typed error, l1 on clients it cannot track safely, and bad l1 options', () => {
    // A passed Sentinel client keeps its node options (credentials, TLS) private: no channel to the master.
    const sentinel = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: 1 }] });
    expect(() => createCache({ redis: sentinel, l1: {} })).toThrow(InvalidOptionsError);
    expect(() => createCache({ redis: sentinel, l1: {} })).toThrow(/l1.sentinelNodeClient/);
    // A cluster client reading from replicas could bring back a value already invalidated.
    const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }], useReplicas: true });
    expect(() => createCache({ redis: cluster, l1: {} })).toThrow(/useReplicas/);
    // The refused cache did not connect them: they stay their owner's, untouched.
    expect(sentinel.isOpen || cluster.isOpen).toBe(false);
    expect(() => createCache({ redis: redis.server.url, l1: { maxEntries: 0 } })).toThrow(/l1.maxEntries/);
    expect(() => createCache({ redis: redis.server.url, l1: { heartbeatMs: 500, channelTimeoutMs: 100 } })).toThrow(/channelTimeoutMs/);
  });
});
