/**
 * `node --import tsx bench/entry-memory.ts`: what an entry costs in Redis beyond the same value
 * stored as a plain JSON string (MEMORY USAGE, 100 keys of each size), on a throwaway redis-server.
 */
import { createClient } from 'redis';
import { createCache } from '../src/cache/index.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
const server = await startRedisServer();
const raw = createClient({ url: server.url }); await raw.connect();
const cache = createCache({ redis: server.url, prefix: 'm:c:' }); await cache.ready();
const profile = (id: number) => ({ id, displayName: `User ${id}`, bio: 'Builds things. '.repeat(8), avatarUrl: `https://cdn.example.com/avatars/${id}.png`, guilds: [1, 2, 3].map((g) => ({ id: g * id, role: 'member' })), createdAt: '2025-01-01T00:00:00.000Z' });
const small = (id: number) => ({ id, ok: true });
for (const [name, f] of [['~650-byte profile', profile], ['small', small]] as const) {
  let d = 0, n = 0;
  for (let i = 0; i < 100; i++) {
    await cache.set(`u:${i}`, f(i), 3600); await raw.set(`m:r:u:${i}`, JSON.stringify(f(i)), { EX: 3600 });
    d += (await raw.memoryUsage(`m:c:u:${i}`))! - (await raw.memoryUsage(`m:r:u:${i}`))!; n++;
  }
  console.log(name, 'entry - plain string bytes (MEMORY USAGE, mean of', n, '):', (d / n).toFixed(1));
}
await cache.close(); await raw.close(); await server.stop();
