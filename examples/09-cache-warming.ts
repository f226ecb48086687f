// 9. Cache warming: load the hot set in one round trip before taking traffic.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
const started = performance.now();
const guilds = await db.query(Array.from({ length: 50 }, (_, i) => ({ id: i + 1, name: `Guild ${i + 1}` })));
await cache.setMany([
  ...guilds.map((g) => ({ key: CacheKeys.guild(g.id), value: g, ttl: CacheTTL.LONG })),
  { key: CacheKeys.leaderboard('global'), value: [{ userId: 1, score: 99 }], ttl: CacheTTL.MEDIUM },
]);
console.log(`warmed ${guilds.length + 1} keys in ${(performance.now() - started).toFixed(1)} ms`);
const hits = (await cache.getMany(guilds.map((g) => CacheKeys.guild(g.id)))).filter((v) => v !== null).length;
if (hits !== 50) throw new Error('warming incomplete');
await cache.del([...guilds.map((g) => CacheKeys.guild(g.id)), CacheKeys.leaderboard('global')]);
await cache.close();
