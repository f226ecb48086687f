/**
 * A client the caller passes (createClient, createCluster, createSentinel), still connecting or
 * already connected, serves the cache and stays the caller's: close() leaves it open. Clients of
 * the other supported node-redis versions: client-versions.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { createCache } from '../../src/cache/index.ts';
import { OWN_VERSION, passedClientFor } from '../helpers/client-versions.ts';
import { describeEachTopology } from '../helpers/topologies.ts';

describeEachTopology('a client the caller passes', (topology) => {
  for (const when of ['still connecting', 'connected'] as const) {
    it(`${when}: serves the cache, reports the topology, and stays open after close()`, async () => {
      const client = passedClientFor(OWN_VERSION, topology().cacheOptions);
      client.on('error', () => {});
      const connecting = client.connect();
      if (when === 'connected') await connecting;
      const cache = createCache({ redis: client, prefix: `pc${randomBytes(3).toString('hex')}:` });
      await cache.ready(10_000);
      await connecting;
      expect(cache.topology).toBe(topology().kind);
      expect(await cache.set('user:1', { id: 1 }, 60)).toBe(true);
      expect(await cache.getOrSetWithMeta('user:1', () => ({ id: 2 }), 60)).toEqual({ value: { id: 1 }, status: 'hit' });
      expect(cache.redisNodes().some((n) => n.role === 'master' && n.state === 'ready')).toBe(true);
      await cache.close();
      expect(client.isOpen).toBe(true);
      await client.close();
    }, 30_000);
  }
});
