/**
 * An invalidation that fails (Redis frozen when the write commits, or refusing writes) is retried
 * until Redis takes it, and reads of the key, or carrying the tag, bypass the cache meanwhile: a
 * Redis that comes back still holding the old value never serves it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTBOX_MAX_KEYS } from '../../src/app/http/cache-access.ts';
import { bearer, createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let token: string;
/** A chat the logged-in user is a member of. */
let chatId: number;

beforeAll(async () => {
  t = await createTestApp();
  token = await t.loginAs(1);
  chatId = 1;
  expect((await t.deps.data.chat.findChat(chatId))?.memberIds).toContain(1);
});
afterAll(async () => {
  t.redisServer.resume();
  await t.close();
});

const profile = async (): Promise<{ displayName: string; xCache: unknown }> => {
  const res = await t.app.inject({ method: 'GET', url: '/users/1', headers: bearer(token) });
  expect(res.statusCode).toBe(200);
  return { displayName: res.json<{ displayName: string }>().displayName, xCache: res.headers['x-cache'] };
};

/** Page 1 of the chat: the newest message's id and the X-Cache answer. */
const chatPage = async (): Promise<{ newestId: number | undefined; xCache: unknown }> => {
  const res = await t.app.inject({ method: 'GET', url: `/chats/${chatId}/messages?page=1`, headers: bearer(token) });
  expect(res.statusCode).toBe(200);
  return { newestId: res.json<{ items: Array<{ id: number }> }>().items[0]?.id, xCache: res.headers['x-cache'] };
};

const postMessage = async (body: string): Promise<number> => {
  const res = await t.app.inject({ method: 'POST', url: `/chats/${chatId}/messages`, headers: bearer(token), payload: { body } });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: number }>().id;
};

/** A cached page 1 of the chat (read until it is a HIT). */
const cachedChatPage = async (): Promise<number | undefined> => {
  const first = await chatPage();
  expect(first.xCache).toMatch(/^(MISS|HIT)$/);
  const again = await chatPage();
  expect(again.xCache).toBe('HIT');
  return again.newestId;
};

const pendingNone = { keys: 0, tags: 0, patterns: 0, flushAll: false };

/**
 * Redis keeps answering reads but refuses every write (`noeviction` over `maxmemory`): a failed
 * invalidation leaves the old entry readable, so only the outbox keeps it from being served.
 */
async function refusingWrites<T>(fn: () => Promise<T>): Promise<T> {
  const saved = await t.redis.configGet('maxmemory*');
  await t.redis.configSet({ 'maxmemory-policy': 'noeviction', maxmemory: '1' });
  try {
    return await fn();
  } finally {
    await t.redis.configSet({ 'maxmemory-policy': saved['maxmemory-policy'] ?? 'noeviction', maxmemory: saved['maxmemory'] ?? '0' });
  }
}

describe('invalidation outbox', () => {
  it('a profile edit made while Redis is frozen is never undone by the old cached profile', async () => {
    await profile();
    expect((await profile()).xCache).toBe('HIT');
    expect(await t.keyExists('user:1:profile')).toBe(true);

    t.redisServer.freeze();
    try {
      const res = await t.app.inject({ method: 'PATCH', url: '/users/1', headers: bearer(token), payload: { displayName: 'Renamed While Frozen' } });
      expect(res.statusCode).toBe(200);
      expect(t.deps.cacheAccess.pendingInvalidations.keys).toBeGreaterThanOrEqual(1);
      // Still frozen: the read goes to the database, not to the (unreachable) old entry.
      expect((await profile()).displayName).toBe('Renamed While Frozen');
    } finally {
      t.redisServer.resume();
    }
    // Redis is back with the old entry in it; the read must still not serve it.
    const right = await profile();
    expect(right.displayName).toBe('Renamed While Frozen');
    await expect.poll(() => t.deps.cacheAccess.pendingInvalidations.keys, { timeout: 10_000, interval: 100 }).toBe(0);
    expect(await t.keyExists('user:1:profile')).toBe(false);
    expect(await profile()).toEqual({ displayName: 'Renamed While Frozen', xCache: 'MISS' });
    expect(await profile()).toEqual({ displayName: 'Renamed While Frozen', xCache: 'HIT' });
  });

  it('a chat post made while Redis is frozen: its tag invalidation is retried, and the chat\'s pages bypass the cache until Redis takes it', async () => {
    const oldNewest = await cachedChatPage();
    t.redisServer.freeze();
    let posted: number;
    try {
      posted = await postMessage('posted while frozen');
      expect(posted).not.toBe(oldNewest);
      expect(t.deps.cacheAccess.pendingInvalidations).toMatchObject({ tags: 1, flushAll: false });
      // The page's tag is pending: straight to the database, without waiting for Redis.
      expect(await chatPage()).toEqual({ newestId: posted, xCache: 'BYPASS' });
      // A read under no pending key or tag still goes through the cache (and times out there).
      const jobs = await t.app.inject({ method: 'GET', url: '/jobs?status=open&page=1', headers: bearer(token) });
      expect(jobs.statusCode).toBe(200);
      expect(jobs.headers['x-cache']).not.toBe('BYPASS');
    } finally {
      t.redisServer.resume();
    }
    // Redis is back holding the old page; whether or not the retry has landed yet, it is not served.
    expect((await chatPage()).newestId).toBe(posted);
    await expect.poll(() => t.deps.cacheAccess.pendingInvalidations, { timeout: 10_000, interval: 100 }).toEqual(pendingNone);
    expect(await chatPage()).toEqual({ newestId: posted, xCache: 'MISS' });
    expect(await chatPage()).toEqual({ newestId: posted, xCache: 'HIT' });
  });

  it('a chat post while Redis refuses writes but serves reads: the old page stays readable in Redis and is never served', async () => {
    const oldNewest = await cachedChatPage();
    const posted = await refusingWrites(async () => {
      const id = await postMessage('posted while Redis refuses writes');
      expect(id).not.toBe(oldNewest);
      expect(t.deps.cacheAccess.pendingInvalidations).toMatchObject({ tags: 1, flushAll: false });
      // Redis would answer this read with the old page (its tag could not move).
      expect(await chatPage()).toEqual({ newestId: id, xCache: 'BYPASS' });
      // The retries keep failing while Redis refuses them, and the page keeps bypassing.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(t.deps.cacheAccess.pendingInvalidations.tags).toBe(1);
      expect(await chatPage()).toEqual({ newestId: id, xCache: 'BYPASS' });
      return id;
    });
    await expect.poll(() => t.deps.cacheAccess.pendingInvalidations, { timeout: 10_000, interval: 100 }).toEqual(pendingNone);
    expect(await chatPage()).toEqual({ newestId: posted, xCache: 'MISS' });
    expect(await chatPage()).toEqual({ newestId: posted, xCache: 'HIT' });
  });

  it(`past ${OUTBOX_MAX_KEYS} pending entries the outbox collapses to a full flush, which drops pending tags' pages too`, async () => {
    const oldNewest = await cachedChatPage();
    const posted = await refusingWrites(async () => {
      const id = await postMessage('posted before the outbox overflows');
      expect(id).not.toBe(oldNewest);
      expect(t.deps.cacheAccess.pendingInvalidations.tags).toBe(1);
      await t.deps.cacheAccess.invalidateTags(...Array.from({ length: OUTBOX_MAX_KEYS }, (_, i) => `overflow:${i}`));
      expect(t.deps.cacheAccess.pendingInvalidations).toEqual({ keys: 0, tags: 0, patterns: 0, flushAll: true });
      // Every read bypasses until the flush lands, this page's included.
      expect(await chatPage()).toEqual({ newestId: id, xCache: 'BYPASS' });
      expect((await profile()).xCache).toBe('BYPASS');
      return id;
    });
    await expect.poll(() => t.deps.cacheAccess.pendingInvalidations, { timeout: 10_000, interval: 100 }).toEqual(pendingNone);
    expect(await t.keys(`chat:${chatId}:messages:*`)).toEqual([]);
    expect(await chatPage()).toEqual({ newestId: posted, xCache: 'MISS' });
    expect(await chatPage()).toEqual({ newestId: posted, xCache: 'HIT' });
  });

  it('a key, pattern or tag the cache refuses throws and is never queued; the valid keys of the same call are still deleted', async () => {
    await profile();
    expect((await profile()).xCache).toBe('HIT');
    const access = t.deps.cacheAccess;
    await expect(access.invalidate('user:1:profile', 'bad\u0000key')).rejects.toMatchObject({ code: 'E_INVALID_KEY' });
    expect(await t.keyExists('user:1:profile')).toBe(false);
    await expect(access.invalidatePattern('#not-a-pattern*')).rejects.toMatchObject({ code: 'E_INVALID_KEY' });
    await expect(access.invalidateTags('')).rejects.toMatchObject({ code: 'E_INVALID_TAG' });
    expect(access.pendingInvalidations).toEqual(pendingNone);
    // The outbox is not stuck behind them: a real failure still queues and drains.
    await refusingWrites(async () => {
      await access.invalidate('user:1:profile', 'user:2:profile');
      expect(access.pendingInvalidations.keys).toBe(2);
    });
    await expect.poll(() => access.pendingInvalidations, { timeout: 10_000, interval: 100 }).toEqual(pendingNone);
  });
});
