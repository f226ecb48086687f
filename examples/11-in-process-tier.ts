// 11. The in-process tier: hot keys from memory, evicted on every instance by Redis itself.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

// Two instances of a service (two processes in production), each with its own L1.
const a = exampleCache({ l1: { maxEntries: 10_000, excludeNamespaces: ['wallet'] } });
const b = exampleCache({ l1: { maxEntries: 10_000, excludeNamespaces: ['wallet'] } });
await Promise.all([a.ready(), b.ready()]);
while ((await b.getStats()).l1?.channel !== 'up') await new Promise((r) => setTimeout(r, 5));

const loadGuild = () => db.query({ id: 42, name: 'Night Owls', members: 12 });
for (let i = 0; i < 1000; i++) await b.getOrSet(CacheKeys.guild(42), loadGuild, CacheTTL.MEDIUM);
const s = await b.getStats();
console.log(`B: 1,000 reads → ${db.reads} database read, ${s.l2Hits} from Redis, ${s.l1Hits} from memory`);

// A renames the guild: database first, then the cache. B hears it from Redis.
await a.set(CacheKeys.guild(42), { id: 42, name: 'Early Birds', members: 12 }, CacheTTL.MEDIUM);
const started = performance.now();
let seen = await b.getOrSet(CacheKeys.guild(42), loadGuild, CacheTTL.MEDIUM);
while (seen.name !== 'Early Birds') {
  await new Promise((r) => setImmediate(r));
  seen = await b.getOrSet(CacheKeys.guild(42), loadGuild, CacheTTL.MEDIUM);
}
console.log(`B serves "${seen.name}" ${(performance.now() - started).toFixed(2)} ms after A's write; L1:`, (await b.getStats()).l1);

// A cached value is shared, not copied: outside production it is frozen.
try {
  (seen as { name: string }).name = 'mutated';
} catch (err) {
  console.log('mutating a cached value throws:', (err as Error).constructor.name);
}
if (s.l1Hits < 990 || db.reads !== 1) throw new Error('the in-process tier did not serve the repeated reads');
await a.del(CacheKeys.guild(42));
await a.close();
await b.close();
