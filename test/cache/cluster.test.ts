/**
 * What only a cluster has: keys spread over three masters. invalidatePattern scans every master
 * and deletes exactly the matching keys; a master that stops answering mid-call is named in a
 * typed error; multi-key calls never meet CROSSSLOT; a lease shares its entry's slot.
 */
import { randomBytes } from 'node:crypto';
import type { createCluster } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache, InvalidKeyError, type Cache } from '../../src/cache/index.ts';
import { clusterLeaseKey, keySlot } from '../../src/cache/topology/slots.ts';
import { clusterClient, startRedisCluster, type TestRedisCluster } from '../helpers/redis-topology.ts';
import { topologiesUnderTest } from '../helpers/topologies.ts';

let cluster: TestRedisCluster;
let raw: ReturnType<typeof createCluster>;

describe.runIf(topologiesUnderTest().includes('cluster'))('Redis Cluster specifics', () => {
  beforeAll(async () => {
    cluster = await startRedisCluster();
    raw = await clusterClient(cluster);
  }, 90_000);

  afterAll(async () => {
    await raw?.close().catch(() => undefined);
    await cluster?.stop();
  });

  async function cache(opts: { commandTimeoutMs?: number } = {}): Promise<Cache> {
    const c = createCache({ cluster: { rootNodes: cluster.rootNodes.map((n) => n.url) }, prefix: `c${randomBytes(3).toString('hex')}:`, ...opts });
    await c.ready(10_000);
    return c;
  }

  it('keySlot agrees with the cluster (CLUSTER KEYSLOT), hash tags included; a lease shares its entry slot', async () => {
    for (const k of ['foo', 'user:1:profile', '{user1000}.following', 'a{b}c', 'é{}x', 'p:chat:7:messages:0']) {
      expect(keySlot(k)).toBe(await raw.clusterKeySlot(k));
      if (!k.includes('{') || /\{[^}]+\}/.test(k)) expect(keySlot(clusterLeaseKey(k))).toBe(keySlot(k));
    }
    const c = await cache();
    // A brace that opens no hash tag would put the lease elsewhere: refused up front.
    await expect(c.set('a{b', 1, 60)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(c.set('a}b', 1, 60)).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await c.set('{tenant:1}:user:1', 1, 60)).toBe(true);
    expect(await c.getOrSet('{tenant:1}:user:1', () => 2, 60)).toBe(1);
    await c.close();
  });

  it('getMany / setMany / del over keys in many slots: no CROSSSLOT, values round-trip', async () => {
    const c = await cache();
    const keys = Array.from({ length: 300 }, (_, i) => `user:${i}`);
    expect(new Set(keys.map((k) => keySlot(c.options.prefix + k))).size).toBeGreaterThan(250);
    expect(await c.setMany(keys.map((key, i) => ({ key, value: { i }, ttl: { ttl: 60, tags: [`t${i % 3}`] } })))).toBe(true);
    expect(await c.getMany(keys)).toEqual(keys.map((_, i) => ({ i })));
    await c.invalidateTags(['t0']);
    const after = await c.getMany(keys);
    expect(after.filter((v) => v === null)).toHaveLength(100);
    // Entries under a moved tag are dead but still stored until read over or expired: del counts them.
    expect(await c.del(keys.slice(0, 10))).toBe(10);
    expect(await c.getMany(keys.slice(0, 13))).toEqual([...Array<null>(10).fill(null), { i: 10 }, { i: 11 }, null]);
    await c.close();
  });

  it('invalidatePattern over 100,000 keys on three masters deletes exactly the matching ones, and says how long each master took', async () => {
    const c = await cache();
    const p = c.options.prefix;
    const N = 100_000;
    // Raw SETs, pipelined per node: half of them match `chat:*`.
    for (let from = 0; from < N; from += 5000) {
      await Promise.all(Array.from({ length: 5000 }, (_, j) => {
        const i = from + j;
        const key = i % 2 === 0 ? `${p}chat:${i}:messages:0` : `${p}user:${i}:profile`;
        return raw.set(key, 'x', { expiration: { type: 'EX', value: 300 } });
      }));
    }
    const before = (await c.getStats()).keys ?? 0;
    expect(before).toBeGreaterThanOrEqual(N);
    const report = await c.invalidatePatternByNode('chat:*');
    expect(report.deleted).toBe(N / 2);
    expect(report.nodes).toHaveLength(3);
    for (const n of report.nodes) {
      expect(n.deleted).toBeGreaterThan(N / 2 / 3 / 2); // spread over the masters, roughly a third each
      expect(n.ms).toBeGreaterThan(0);
    }
    expect(report.nodes.reduce((s, n) => s + n.deleted, 0)).toBe(N / 2);
    // Nothing that did not match was touched.
    expect(await raw.exists(`${p}user:1:profile`)).toBe(1);
    expect(await raw.exists(`${p}chat:0:messages:0`)).toBe(0);
    expect((await c.getStats()).keys).toBe(before - N / 2);
    console.log(`invalidatePattern over ${N} keys: ${report.nodes.map((n) => `${n.address} ${n.deleted} keys in ${n.ms.toFixed(0)} ms`).join(', ')}`);
    await c.close();
  }, 120_000);

  it('a master that stops answering mid-invalidatePattern: the call rejects with E_REDIS_NODE naming it; the others are done', async () => {
    const c = await cache({ commandTimeoutMs: 300 });
    const p = c.options.prefix;
    await Promise.all(Array.from({ length: 3000 }, (_, i) => raw.set(`${p}job:${i}`, 'x', { expiration: { type: 'EX', value: 300 } })));
    const masters = await cluster.masters();
    const frozen = masters[0];
    if (frozen === undefined) throw new Error('no master');
    frozen.server.freeze();
    try {
      const err = await c.invalidatePattern('job:*').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'E_REDIS_NODE', address: expect.stringContaining(`:${frozen.port}`) as unknown });
      expect((err as Error).message).toContain(`:${frozen.port}`);
    } finally {
      frozen.server.resume();
    }
    // The other masters' keys are gone; the frozen one's remain until the call is retried.
    let left = 0;
    for (let i = 0; i < 3000; i++) left += await raw.exists(`${p}job:${i}`);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(3000);
    await expect.poll(() => c.invalidatePattern('job:*').catch(() => -1), { timeout: 10_000, interval: 300 }).toBe(left);
    await c.close();
  }, 60_000);
});
