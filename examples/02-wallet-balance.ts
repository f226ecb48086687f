// 2. Wallet balance: a short TTL, and invalidation on every write so a balance is never stale.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
const wallets = new Map<number, bigint>([[7, 100n]]);

const balance = (userId: number) =>
  cache.getOrSet(CacheKeys.walletBalance(userId), () => db.query(wallets.get(userId) ?? 0n), CacheTTL.SHORT);

async function credit(userId: number, amount: bigint): Promise<void> {
  wallets.set(userId, (wallets.get(userId) ?? 0n) + amount); // the database write, committed first
  await cache.del(CacheKeys.walletBalance(userId)); //          then the invalidation
}

console.log('balance before:', await balance(7));
await credit(7, 50n);
const after = await balance(7);
console.log('balance after credit:', after);
if (after !== 150n) throw new Error('stale balance');
await cache.del(CacheKeys.walletBalance(7));
await cache.close();
