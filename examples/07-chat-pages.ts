// 7. Paginated chat messages: pages cached for 30 s; a new message invalidates only that chat.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
const messages = new Map<number, string[]>([[1, ['hi', 'hello']], [12, ['other chat']]]);
const page = (chatId: number, n: number) =>
  cache.getOrSet(CacheKeys.chatMessages(chatId, n), () => db.query(messages.get(chatId) ?? []), CacheTTL.SHORT);

await page(1, 0);
await page(12, 0);
messages.get(1)?.push('new message');
await cache.invalidatePattern(CacheKeys.chatMessagesPattern(1)); // chat 1's pages, not chat 12's
const fresh = await page(1, 0);
console.log('chat 1 page 0:', fresh, '| chat 12 still cached:', await cache.has(CacheKeys.chatMessages(12, 0)));
if (fresh.length !== 3 || !(await cache.has(CacheKeys.chatMessages(12, 0)))) throw new Error('wrong invalidation');
await cache.invalidatePattern('chat:*');
await cache.close();
