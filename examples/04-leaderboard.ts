// 4. Leaderboard: an expensive query, computed once for every concurrent reader.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
const top = Array.from({ length: 10 }, (_, i) => ({ userId: i + 1, score: 1000 - i * 37 }));
const slowLeaderboardQuery = () => db.query(top, 200);

const readers = await Promise.all(
  Array.from({ length: 100 }, () => cache.getOrSet(CacheKeys.leaderboard('global'), slowLeaderboardQuery, CacheTTL.MEDIUM)),
);
console.log('100 concurrent readers, leader:', readers[0]?.[0], '| database reads:', db.reads);
if (db.reads !== 1) throw new Error('the leaderboard query ran more than once');
await cache.del(CacheKeys.leaderboard('global'));
await cache.close();
