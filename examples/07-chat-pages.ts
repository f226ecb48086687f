// 7. Paginated chat messages: pages cached for 30 s under their chat's tag; a new message invalidates
// every page of that chat in one step (no scan of the keyspace), and no page of another chat.
import { CacheKeys, CacheTTL } from '../src/cache/index.ts';
import { db, exampleCache } from './_setup.ts';

const cache = exampleCache();
await cache.ready();
const messages = new Map<number, string[]>([[1, ['hi', 'hello']], [12, ['other chat']]]);
const chatTag = (chatId: number) => `chat:${chatId}:messages`;
const page = (chatId: number, n: number) =>
  cache.getOrSet(CacheKeys.chatMessages(chatId, n), () => db.query(messages.get(chatId) ?? []), { ttl: CacheTTL.SHORT, tags: [chatTag(chatId)] });

await page(1, 0);
await page(12, 0);
messages.get(1)?.push('new message');
await cache.invalidateTags([chatTag(1)]); // chat 1's pages, not chat 12's
const readsBefore = db.reads;
const fresh = await page(1, 0);
await page(12, 0);
console.log('chat 1 page 0:', fresh, '| database reads for both pages:', db.reads - readsBefore);
if (fresh.length !== 3 || db.reads - readsBefore !== 1) throw new Error('wrong invalidation');
await cache.invalidatePattern('*'); // clean up this run's keys (tag versions included)
await cache.close();
