// 6. Sessions: a random id, kept for 24 h, removed at log-out.
import { randomBytes } from 'node:crypto';
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
const sessionId = randomBytes(32).toString('base64url');
await cache.set(CacheKeys.session(sessionId), { userId: 42, createdAt: new Date() }, CacheTTL.VERY_LONG);

const session = await cache.get<{ userId: number; createdAt: Date }>(CacheKeys.session(sessionId));
console.log('session for user', session?.userId, '| expires in', await cache.ttl(CacheKeys.session(sessionId)), 's');
await cache.del(CacheKeys.session(sessionId)); // log-out
const gone = await cache.get(CacheKeys.session(sessionId));
if (session?.userId !== 42 || gone !== null) throw new Error('session lifecycle broken');
console.log('after log-out:', gone);
await cache.close();
