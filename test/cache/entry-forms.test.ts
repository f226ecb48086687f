import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/cache/clock.ts';
import { createCache, type Cache, type CacheOptions, type Serializer } from '../../src/cache/index.ts';
import { startRedisWithClient, type RawRedisClient, type TestRedisServer } from '../helpers/redis-server.ts';

// The two forms of an entry's `v` in Redis (src/cache/entry.ts): a JSON entry for untagged
// values of the default serializer, the general form for everything else.

let server: TestRedisServer;
let raw: RawRedisClient;

beforeAll(async () => {
  ({ server, raw } = await startRedisWithClient());
});

afterAll(async () => {
  await raw.close();
  await server.stop();
});

const open: Cache[] = [];
async function make(opts: Omit<CacheOptions, 'redis'> = {}): Promise<Cache> {
  const cache = createCache({ redis: server.url, prefix: `f${randomBytes(4).toString('hex')}:`, ...opts });
  await cache.ready();
  open.push(cache);
  return cache;
}
afterAll(async () => {
  for (const c of open) await c.close();
});

const stored = async (c: Cache, key: string): Promise<string> => (await raw.get(c.options.prefix + key)) ?? '<absent>';

/** JSON with no tags of its own: a serializer the cache cannot recognise as its default. */
const customSerializer: Serializer = {
  encode: (v) => `x${JSON.stringify(v)}`,
  decode: (s) => {
    if (!s.startsWith('x')) throw new Error('not mine');
    return JSON.parse(s.slice(1)) as unknown;
  },
};

describe('entry forms in Redis', () => {
  it('stores an untagged default-serializer value as a JSON entry and everything else in the general form; all read back', async () => {
    const c = await make();
    const profile = { id: 7, name: 'Ada', tags: ['a', 'b'], nested: { ok: true } };
    await c.set('plain', profile, 60);
    expect(await stored(c, 'plain')).toMatch(/^\[\d+,\d+,0,0,\{"id":7,/);
    await c.set('null', null, 60);
    expect(await stored(c, 'null')).toMatch(/^\[\d+,\d+,0,0,null\]$/);
    await c.set('date', { at: new Date(0) }, 60);
    expect(await stored(c, 'date')).toMatch(/^\d+;\d+;0;0\|t/);
    await c.getOrSet('tagged', () => profile, { ttl: 60, tags: ['guild:1'] });
    expect(await stored(c, 'tagged')).toMatch(/^\d+;\d+;\d+;0;guild:1=[^|]+\|c\{"id":7,/);
    await c.set('proto', JSON.parse('{"__proto__":{"x":1},"a":1}') as unknown, 60);
    expect(await stored(c, 'proto')).toMatch(/^\d+;\d+;0;0\|j/);

    expect(await c.get('plain')).toEqual(profile);
    expect(await c.get('null')).toBeNull();
    expect(await c.has('null')).toBe(true);
    expect(await c.get('date')).toEqual({ at: new Date(0) });
    expect(await c.getOrSet('tagged', () => 'refetched', { ttl: 60, tags: ['guild:1'] })).toEqual(profile);
    expect(await c.getMany(['plain', 'date', 'missing'])).toEqual([profile, { at: new Date(0) }, null]);
    expect(Object.getPrototypeOf(await c.get('proto'))).toBe(Object.prototype);

    const custom = await make({ serializer: customSerializer });
    await custom.set('plain', profile, 60);
    expect(await stored(custom, 'plain')).toMatch(/^\d+;\d+;0;0\|x\{/);
    expect(await custom.get('plain')).toEqual(profile);
  });

  it('each hit decodes afresh: a caller mutating its value does not change the next caller’s', async () => {
    const c = await make();
    await c.set('k', { n: 1 }, 60);
    const first = await c.getOrSet<{ n: number }>('k', () => ({ n: 2 }), 60);
    first.n = 99;
    expect(await c.getOrSet('k', () => ({ n: 2 }), 60)).toEqual({ n: 1 });
  });

  it('reads entries in the general form written by earlier versions', async () => {
    const c = await make();
    const now = Date.now();
    await raw.set(c.options.prefix + 'old', `${now + 60_000};${now + 60_000};0;0|c{"a":1}`);
    await raw.set(c.options.prefix + 'older', `${now + 60_000};${now + 60_000};0;0|j{"b":2}`);
    expect(await c.get('old')).toEqual({ a: 1 });
    expect(await c.getOrSet('older', () => 'refetched', 60)).toEqual({ b: 2 });
  });

  it('reads an entry kept in a hash by earlier versions; the next write replaces it with a string', async () => {
    const c = await make();
    const now = Date.now();
    await raw.hSet(c.options.prefix + 'legacy', 'v', `${now + 60_000};${now + 60_000};0;0|c{"a":1}`);
    expect(await c.getOrSetWithMeta('legacy', () => 'refetched', 60)).toEqual({ value: { a: 1 }, status: 'hit' });
    expect(await c.get('legacy')).toEqual({ a: 1 });
    await raw.hSet(c.options.prefix + 'expired', 'v', `${now - 2000};${now - 1000};0;0|c{"a":1}`);
    expect(await c.getOrSetWithMeta('expired', () => ({ a: 2 }), 60)).toEqual({ value: { a: 2 }, status: 'miss' });
    await c.idle(); // getOrSet answers before its write lands; `raw` is another connection
    expect(await raw.type(c.options.prefix + 'expired')).toBe('string');
    expect(await c.get('expired')).toEqual({ a: 2 });
    expect((await c.getStats()).errors).toBe(0);
  });

  it('fail-safe rewrites the header of either form and keeps the value', async () => {
    const clock = new ManualClock(Date.now());
    const c = await make({ clock, graceSeconds: 600, failSafeRetryMs: 5000, jitter: 0, earlyRefresh: false });
    for (const [key, value, form] of [
      ['json', { n: 1 }, /^\[\d+,\d+,\d+,1,\{"n":1\}\]$/],
      ['general', { at: new Date(5) }, /^\d+;\d+;\d+;1\|t/],
    ] as const) {
      expect(await c.getOrSet(key, () => value, 10)).toEqual(value);
      clock.advance(11_000);
      const failed = await c.getOrSetWithMeta(key, () => Promise.reject(new Error('db down')), 10);
      expect(failed).toEqual({ value, status: 'stale' });
      await c.idle();
      expect(await stored(c, key)).toMatch(form);
      // Until failSafeRetryMs has passed, the stale value is served without calling the fetcher.
      expect(await c.getOrSetWithMeta(key, () => 'not called', 10)).toEqual({ value, status: 'stale' });
      clock.advance(6_000);
      expect(await c.getOrSetWithMeta(key, () => 'fresh again', 10)).toEqual({ value: 'fresh again', status: 'miss' });
    }
  });

  it('a cache with another serializer does not guess at a JSON entry: a counted decode error, deleted, refetched', async () => {
    const c = await make();
    const custom = await make({ serializer: customSerializer });
    // Same keyspace: point the custom cache's reads at what the default one wrote.
    await c.set('shared', { a: 1 }, 60);
    await raw.set(custom.options.prefix + 'shared', await stored(c, 'shared'));
    expect(await custom.get('shared')).toBeNull();
    expect((await custom.getStats()).decodeErrors).toBe(1);
    expect(await custom.getOrSet('shared', () => ({ a: 2 }), 60)).toEqual({ a: 2 });
    expect(await stored(custom, 'shared')).toMatch(/^\d+;\d+;\d+;0\|x\{"a":2\}$/);
  });
});
