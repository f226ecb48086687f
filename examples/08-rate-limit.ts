// 8. Rate limiting with a counter whose TTL is set atomically with its first increment.
import { CacheKeys } from '../src/cache/index.ts';
import { exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
const LIMIT = 5;
const WINDOW_SECONDS = 60;

async function allow(ip: string): Promise<boolean> {
  const count = await cache.incr(CacheKeys.rateLimit(ip, 'login'), 1, WINDOW_SECONDS);
  return count <= LIMIT;
}

const answers: boolean[] = [];
for (let i = 0; i < 7; i++) answers.push(await allow('2001:db8::7'));
console.log('attempts allowed:', answers.join(' '), '| window resets in', await cache.ttl(CacheKeys.rateLimit('2001:db8::7', 'login')), 's');
if (answers.filter(Boolean).length !== LIMIT) throw new Error('limit not enforced');
await cache.del(CacheKeys.rateLimit('2001:db8::7', 'login'));
await cache.close();
