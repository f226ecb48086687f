// 5. Job listings: pages cached per status, all of them invalidated at once by a pattern.
// invalidatePattern SCANs the whole keyspace (twice), so its cost grows with everything Redis holds:
// for groups you read through getOrSet, tags (example 7) invalidate in one step instead.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
for (let page = 1; page <= 5; page++) await cache.set(CacheKeys.jobList('open', page), [{ id: page }], CacheTTL.MEDIUM);
await cache.set(CacheKeys.job(9), { id: 9, title: 'Fix the roof' }, CacheTTL.MEDIUM);

// A job changed: that job, and every listing page (its position may have moved).
await cache.del(CacheKeys.job(9));
const removed = await cache.invalidatePattern('jobs:*');
console.log('listing pages invalidated:', removed);
if (removed !== 5) throw new Error(`expected 5 pages, got ${removed}`);
await cache.close();
