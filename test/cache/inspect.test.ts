/**
 * The operator reads (inspect.ts) on a real redis-server: an entry's decoded view in each of its
 * forms and states, with its lease and tags; scanKeys' selection; each master's INFO.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'redis';
import { createCache, InvalidOptionsError, type Cache, type NodeRedisClient } from '../../src/cache/index.ts';
import { startRedisServer, type TestRedisServer } from '../helpers/redis-server.ts';

let server: TestRedisServer;
let cache: Cache;
let raw: NodeRedisClient;
const prefix = 'insp:';

beforeAll(async () => {
  server = await startRedisServer();
  cache = createCache({ redis: server.url, prefix, l1: {} });
  raw = createClient({ url: server.url });
  await raw.connect();
});
afterAll(async () => {
  await cache?.close();
  await raw?.quit();
  await server?.stop();
});

describe('Cache.inspect', () => {
  it('decodes a tagged entry, and sees it invalidated once its tag moves', async () => {
    await cache.set('user:1', { name: 'Ada', at: new Date(0) }, { ttl: 60, tags: ['team:1'] });
    const fresh = await cache.inspect('user:1');
    expect(fresh).toMatchObject({ key: 'user:1', fullKey: 'insp:user:1', form: 'general', state: 'fresh', value: { name: 'Ada', at: new Date(0) }, failSafe: false, lease: null });
    expect(fresh.tags).toHaveLength(1);
    expect(fresh.tags[0]).toMatchObject({ name: 'team:1', current: fresh.tags[0]?.recorded, valid: true });
    expect(fresh.ttlMs).toBeGreaterThan(55_000);
    expect((fresh.freshUntilMs ?? 0) - fresh.nowMs).toBeGreaterThan(55_000);
    await cache.invalidateTags(['team:1']);
    const moved = await cache.inspect('user:1');
    expect(moved.state).toBe('invalidated');
    expect(moved.tags[0]?.valid).toBe(false);
  });

  it('reads a JSON entry, a counter, an absent key, a foreign string (without deleting it) and another type', async () => {
    await cache.set('user:2', { name: 'Grace' }, 60);
    expect(await cache.inspect('user:2')).toMatchObject({ form: 'json', state: 'fresh', value: { name: 'Grace' }, tags: [] });
    await cache.incr('hits', 3);
    expect(await cache.inspect('hits')).toMatchObject({ form: 'plain', state: 'plain', value: 3, freshUntilMs: null });
    expect(await cache.inspect('nothing')).toMatchObject({ form: 'absent', state: 'absent', value: undefined, ttlMs: null, lease: null });
    await raw.set(`${prefix}junk`, 'not an entry');
    const junk = await cache.inspect('junk');
    expect(junk).toMatchObject({ form: 'plain', state: 'undecodable', value: undefined });
    expect(junk.decodeError).toMatch(/marker/);
    expect(await raw.get(`${prefix}junk`)).toBe('not an entry');
    await raw.hSet(`${prefix}hash`, 'a', '1');
    expect(await cache.inspect('hash')).toMatchObject({ form: 'not-string', state: 'wrong-type' });
  });

  it('shows the lease of a fetch in flight and the tag versions it was taken under', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const pending = cache.getOrSet('job:7', async () => {
      await held;
      return 7;
    }, { ttl: 60, tags: ['jobs'] });
    let seen = await cache.inspect('job:7');
    for (let i = 0; i < 50 && seen.lease === null; i++) seen = await cache.inspect('job:7');
    expect(seen.state).toBe('absent');
    expect(seen.lease?.expiresAtMs).toBeGreaterThan(Date.now());
    expect(seen.lease?.token.startsWith(seen.lease.holder)).toBe(true);
    expect(seen.lease?.ttlMs).toBeGreaterThan(0);
    expect(seen.lease?.tags.map((t) => [t.name, t.valid])).toEqual([['jobs', true]]);
    release();
    expect(await pending).toBe(7);
    await cache.idle();
    expect(await cache.inspect('job:7')).toMatchObject({ state: 'fresh', value: 7, lease: null });
  });
});

describe('Cache.inspect of an untagged miss in flight', () => {
  it("shows the lease kept under the entry's own key (no entry yet), with the key's expiry", async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const pending = cache.getOrSet('job:8', async () => {
      await held;
      return 8;
    }, 60);
    let seen = await cache.inspect('job:8');
    for (let i = 0; i < 50 && seen.lease === null; i++) seen = await cache.inspect('job:8');
    expect(seen).toMatchObject({ state: 'absent', form: 'absent', ttlMs: null });
    expect(seen.lease?.token.startsWith(seen.lease.holder)).toBe(true);
    expect(seen.lease?.ttlMs).toBeGreaterThan(0);
    expect(seen.lease?.tags).toEqual([]);
    release();
    expect(await pending).toBe(8);
    await cache.idle();
    expect(await cache.inspect('job:8')).toMatchObject({ state: 'fresh', value: 8, lease: null });
    await cache.del('job:8');
  });
});

describe('Cache.scanKeys and redisServers', () => {
  it('selects the application keys as invalidatePattern would, counting leases and tag versions apart', async () => {
    const batches = [];
    for await (const b of cache.scanKeys('user:*', { batchSize: 2 })) batches.push(b);
    expect(batches.flatMap((b) => b.keys).sort()).toEqual(['user:1', 'user:2']);
    let tagVersions = 0;
    const all: string[] = [];
    for await (const b of cache.scanKeys()) {
      tagVersions += b.tagVersions;
      all.push(...b.keys);
    }
    expect(tagVersions).toBe(2);
    expect(all.sort()).toEqual(['hash', 'hits', 'job:7', 'junk', 'user:1', 'user:2']);
  });

  it("reports each master's INFO and the in-process tiers listening to it", async () => {
    let servers = await cache.redisServers();
    for (let i = 0; i < 100 && servers[0]?.trackingClients !== 1; i++) {
      await new Promise((r) => setTimeout(r, 20));
      servers = await cache.redisServers();
    }
    expect(servers).toHaveLength(1);
    expect(servers[0]).toMatchObject({ address: `127.0.0.1:${server.port}`, trackingClients: 1 });
    expect(servers[0]?.info['redis_version']).toMatch(/^\d+\./);
  });

  it('reports invalidatePattern progress as a running total', async () => {
    for (let i = 0; i < 10; i++) await cache.set(`bulk:${i}`, i, 60);
    const seen: number[] = [];
    const r = await cache.invalidatePatternByNode('bulk:*', { onProgress: (n) => seen.push(n) });
    expect(r.deleted).toBe(10);
    expect(seen.at(-1)).toBe(10);
  });

  it('refuses operator reads on the memory store with a typed error', async () => {
    const memory = createCache();
    await expect(memory.inspect('a')).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(memory.scanKeys().next()).rejects.toBeInstanceOf(InvalidOptionsError);
    await memory.close();
  });
});
