// 10. Monitoring: hit rate, errors and per-namespace figures, as a health endpoint shows them.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
for (let i = 0; i < 20; i++) {
  await cache.getOrSet(CacheKeys.userProfile(i % 4), () => db.query({ id: i % 4 }), CacheTTL.MEDIUM);
}
await cache.get(CacheKeys.guild(1));
const stats = await cache.getStats();
console.log(JSON.stringify({ hitRate: stats.hitRate, hits: stats.hits, misses: stats.misses, errors: stats.errors, keys: stats.keys, namespaces: stats.namespaces }, null, 2));
if (stats.hits !== 16 || stats.namespaces['guild']?.misses !== 1) throw new Error('unexpected stats');
await cache.del([0, 1, 2, 3].map((i) => CacheKeys.userProfile(i)));
await cache.close();
