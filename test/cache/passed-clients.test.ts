/**
 * A client the caller passes (createClient, createCluster, createSentinel), still connecting or
 * already connected, serves the cache and stays the caller's: close() leaves it open.
 */
import { randomBytes } from 'node:crypto';
import { createClient, createCluster, createSentinel } from 'redis';
import { expect, it } from 'vitest';
import { createCache, type CacheOptions } from '../../src/cache/index.ts';
import type { AnyRedisClient } from '../../src/cache/topology/connection.ts';
import { describeEachTopology } from '../helpers/topologies.ts';

function clientFor(o: Pick<CacheOptions, 'redis' | 'cluster' | 'sentinel'>): AnyRedisClient {
  if (o.cluster !== undefined) return createCluster({ rootNodes: o.cluster.rootNodes.map((url) => ({ url })) });
  if (o.sentinel !== undefined) return createSentinel({ name: o.sentinel.name, sentinelRootNodes: [...o.sentinel.sentinelRootNodes] });
  if (typeof o.redis !== 'string') throw new Error('the single topology is reached by URL');
  return createClient({ url: o.redis });
}

describeEachTopology('a client the caller passes', (topology) => {
  for (const when of ['still connecting', 'connected'] as const) {
    it(`${when}: serves the cache, reports the topology, and stays open after close()`, async () => {
      const client = clientFor(topology().cacheOptions);
      client.on('error', () => {});
      const connecting = client.connect() as Promise<unknown>;
      if (when === 'connected') await connecting;
      const cache = createCache({ redis: client, prefix: `pc${randomBytes(3).toString('hex')}:` });
      await cache.ready(10_000);
      await connecting;
      expect(cache.topology).toBe(topology().name);
      expect(await cache.set('user:1', { id: 1 }, 60)).toBe(true);
      expect(await cache.getOrSetWithMeta('user:1', () => ({ id: 2 }), 60)).toEqual({ value: { id: 1 }, status: 'hit' });
      expect(cache.redisNodes().some((n) => n.role === 'master' && n.state === 'ready')).toBe(true);
      await cache.close();
      expect(client.isOpen).toBe(true);
      await client.close();
    }, 30_000);
  }
});
