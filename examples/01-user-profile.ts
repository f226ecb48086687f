// 1. User profile, cache-aside: the first read goes to the database, the next ones do not.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

interface Profile { id: number; displayName: string; joinedAt: Date }
const cache = exampleCache();
await cache.ready();

const getProfile = (id: number) =>
  cache.getOrSet<Profile>(CacheKeys.userProfile(id), () => db.query({ id, displayName: 'Ada', joinedAt: new Date('2024-01-01') }), CacheTTL.MEDIUM);

const first = await getProfile(42);
const second = await getProfile(42);
console.log('profile:', second.displayName, 'joined', second.joinedAt.toISOString(), '| database reads:', db.reads);
if (db.reads !== 1 || !(first.joinedAt instanceof Date)) throw new Error('expected one database read and a Date');
await cache.del(CacheKeys.userProfile(42));
await cache.close();
