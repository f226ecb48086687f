import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheKeys, CacheTTL, createCache, InvalidKeyError } from '../../src/cache/index.ts';
import type { Cache } from '../../src/cache/index.ts';
import { startRedisWithClient, type RawRedisClient, type TestRedisServer } from '../helpers/redis-server.ts';
import { cacheContract } from './contract.ts';
import { getOrSetContract } from './get-or-set-contract.ts';
import { describeEachTopology, SUITE_COMMAND_TIMEOUT_MS } from '../helpers/topologies.ts';

let server: TestRedisServer;
let raw: RawRedisClient;

beforeAll(async () => {
  ({ server, raw } = await startRedisWithClient());
});

afterAll(async () => {
  await raw.close();
  await server.stop();
});

const uniquePrefix = (): string => `t${randomBytes(4).toString('hex')}:`;

async function make(opts?: { maxValueBytes?: number; prefix?: string }): Promise<Cache> {
  const cache = createCache({
    redis: server.url,
    prefix: uniquePrefix() + (opts?.prefix ?? ''),
    ...(opts?.maxValueBytes === undefined ? {} : { maxValueBytes: opts.maxValueBytes }),
  });
  await cache.ready();
  return cache;
}

// The whole contract, on one Redis, a cluster and Sentinel (test/helpers/topologies.ts).
describeEachTopology('redis store', (topology) => {
  cacheContract('redis store', {
    make: async (opts) => {
      const cache = createCache({
        ...topology().cacheOptions,
        commandTimeoutMs: SUITE_COMMAND_TIMEOUT_MS,
        prefix: uniquePrefix() + (opts?.prefix ?? ''),
        ...(opts?.maxValueBytes === undefined ? {} : { maxValueBytes: opts.maxValueBytes }),
      });
      await cache.ready();
      return cache;
    },
    writeRaw: (cache, key, value) => topology().raw.set(cache.options.prefix + key, value, 60),
  });

  getOrSetContract('redis store', {
    makeShared: async (n, opts) => {
      const prefix = uniquePrefix();
      const caches = Array.from({ length: n }, () => createCache({ commandTimeoutMs: SUITE_COMMAND_TIMEOUT_MS, ...opts, ...topology().cacheOptions, prefix }));
      for (const c of caches) await c.ready();
      return caches;
    },
  });

  // The same contract with every eligible read a leasing read (`SET … NX … GET`).
  getOrSetContract('redis store, leasing reads', {
    makeShared: async (n, opts) => {
      const prefix = uniquePrefix();
      const caches = Array.from({ length: n }, () => createCache({ commandTimeoutMs: SUITE_COMMAND_TIMEOUT_MS, leasingReads: 'always', ...opts, ...topology().cacheOptions, prefix }));
      for (const c of caches) await c.ready();
      return caches;
    },
  });
});

describe('redis store specifics', () => {
  it('TTLs land in Redis in seconds as given', async () => {
    const c = await make();
    for (const [name, ttl] of Object.entries(CacheTTL)) {
      await c.set(`ttl:${name}`, name, ttl);
      expect(await raw.ttl(c.options.prefix + `ttl:${name}`)).toBe(ttl);
    }
    await c.set('ttl:fraction', 1, 1.5);
    expect(await raw.pTTL(c.options.prefix + 'ttl:fraction')).toBeGreaterThan(1400);
    await c.close();
  });

  it('every incr key has a TTL in Redis', async () => {
    const c = await make();
    const keys = Array.from({ length: 20 }, (_, i) => CacheKeys.rateLimit(`10.0.0.${i}`, 'login'));
    await Promise.all(keys.flatMap((k) => [c.incr(k, 1, 60), c.incr(k, 1, 60), c.decr(k, 1, 60)]));
    for (const k of keys) {
      const ttl = await raw.ttl(c.options.prefix + k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60);
    }
    // A counter someone left without expiry gets one on the next incr.
    await raw.set(c.options.prefix + 'ratelimit:legacy:x', '5');
    expect(await c.incr('ratelimit:legacy:x', 1, 30)).toBe(6);
    expect(await raw.ttl(c.options.prefix + 'ratelimit:legacy:x')).toBeGreaterThan(0);
    await c.close();
  });

  it("CacheKeys.userProfile('1*') can neither be built nor match user:12:profile", async () => {
    const c = await make();
    await c.set(CacheKeys.userProfile(12), { id: 12 }, 60);
    for (const id of ['1*', '1?', '[1]', '1\\', '1:x', '', ' 1', '1\n']) {
      expect(() => CacheKeys.userProfile(id)).toThrow(InvalidKeyError);
    }
    expect(() => CacheKeys.chatMessages('1*', 0)).toThrow(InvalidKeyError);
    expect(() => CacheKeys.chatMessages(1, -1)).toThrow(InvalidKeyError);
    expect(await c.invalidatePattern(`${CacheKeys.userProfile(1)}*`)).toBe(0);
    expect(await c.get(CacheKeys.userProfile(12))).toEqual({ id: 12 });
    // Subjects that legally hold metacharacters are encoded, not rejected, and stay distinct.
    expect(CacheKeys.rateLimit('a*@x.io')).not.toBe(CacheKeys.rateLimit('a%2A@x.io'));
    expect(CacheKeys.rateLimit('a*@x.io')).not.toMatch(/[*?[\]\\]/);
    await c.close();
  });

  it('invalidatePattern uses SCAN and UNLINK in batches over many keys, never KEYS', async () => {
    const c = createCache({ redis: server.url, prefix: uniquePrefix(), scanBatchSize: 50 });
    await c.ready();
    await c.setMany(Array.from({ length: 1200 }, (_, i) => ({ key: `jobs:open:${i}`, value: i, ttl: 60 })));
    await c.set('job:1', 1, 60);
    const monitor = raw.duplicate();
    monitor.on('error', () => {});
    await monitor.connect();
    const commands: string[] = [];
    await monitor.monitor((line) => commands.push(line.toUpperCase()));
    expect(await c.invalidatePattern('jobs:*')).toBe(1200);
    await monitor.close();
    expect(commands.some((l) => l.includes('"SCAN"'))).toBe(true);
    expect(commands.some((l) => l.includes('"UNLINK"'))).toBe(true);
    expect(commands.some((l) => l.includes('"KEYS"') || l.includes('FLUSH'))).toBe(false);
    expect(await c.get('job:1')).toBe(1);
    await c.close();
  });

  it('accepts a node-redis client and leaves it open on close', async () => {
    const client = createClient({ url: server.url });
    await client.connect();
    const c = createCache({ redis: client, prefix: uniquePrefix() });
    await c.set('user:1', 'x', 10);
    expect(await c.get('user:1')).toBe('x');
    await c.close();
    expect(client.isReady).toBe(true);
    await client.close();
  });
});
