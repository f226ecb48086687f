// 3. Guild data and members: stable data, a long TTL, fetched together with getMany.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
await cache.setMany([
  { key: CacheKeys.guild(1), value: { id: 1, name: 'Builders' }, ttl: CacheTTL.LONG },
  { key: CacheKeys.guildMembers(1), value: [1, 2, 3], ttl: CacheTTL.LONG },
]);
const [guild, members, missing] = await cache.getMany([CacheKeys.guild(1), CacheKeys.guildMembers(1), CacheKeys.guild(2)]);
console.log('guild:', guild, 'members:', members, 'guild 2 cached?', missing !== null);
const g2 = await cache.getOrSet(CacheKeys.guild(2), () => db.query({ id: 2, name: 'Traders' }), CacheTTL.LONG);
console.log('guild 2 from the database:', g2, '| ttl left:', await cache.ttl(CacheKeys.guild(2)), 's');
if (guild === null || missing !== null) throw new Error('unexpected cache contents');
await cache.del([CacheKeys.guild(1), CacheKeys.guildMembers(1), CacheKeys.guild(2)]);
await cache.close();
