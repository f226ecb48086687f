/** Chat: members-only pages (MISS then HIT), posting, and exactly which pages a new message invalidates (the chat's tag). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../../src/app/cache-policy.ts';
import { bearer, createTestApp, describeEachDatabase, type TestApp } from '../../helpers/app.ts';

describeEachDatabase('chat', (database) => {
  let t: TestApp;
  /** A member of chat 1 and of chat 12, and a user in neither. */
  let member: string;
  let outsider: string;
  let member12: string;

  interface Page {
    chatId: number;
    items: { id: number; userId: number; body: string }[];
    page: number;
    hasMore: boolean;
  }

  async function aMemberOf(chatId: number, notIn?: number): Promise<number> {
    const members = (await t.deps.data.chat.findChat(chatId))?.memberIds ?? [];
    const excluded = notIn === undefined ? [] : ((await t.deps.data.chat.findChat(notIn))?.memberIds ?? []);
    const rows = [{ user_id: members.find((id) => !excluded.includes(id)) }];
    return rows[0]?.user_id as number;
  }

  beforeAll(async () => {
    t = await createTestApp({ database });
    // Seeded users are numbered from 1: the first who is not in chat 1.
    const inChat1 = (await t.deps.data.chat.findChat(1))?.memberIds ?? [];
    let outsiderId = 1;
    while (inChat1.includes(outsiderId)) outsiderId++;
    const rows = [{ id: outsiderId }];
    [member, outsider, member12] = await Promise.all([t.loginAs(await aMemberOf(1)), t.loginAs(rows[0]?.id as number), t.loginAs(await aMemberOf(12))]);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const page = (chatId: number | string, n: number | string = 1, token = member) =>
    t.app.inject({ method: 'GET', url: `/chats/${chatId}/messages?page=${n}`, headers: bearer(token) });
  const post = (chatId: number, body: unknown, token = member) =>
    t.app.inject({ method: 'POST', url: `/chats/${chatId}/messages`, headers: bearer(token), payload: { body } });

  describe('GET /chats/:id/messages', () => {
    it('a member reads pages: MISS, then HIT from chat:{id}:messages:{page}, newest first', async () => {
      const first = await page(1, 1);
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      const body = first.json<Page>();
      expect(body).toMatchObject({ chatId: 1, page: 1 });
      expect(body.items.length).toBeGreaterThan(0);
      const ids = body.items.map((m) => m.id);
      expect([...ids].sort((a, b) => b - a)).toEqual(ids);
      expect((await page(1, 1)).headers['x-cache']).toBe('HIT');
      expect(await t.keyExists('chat:1:messages:1')).toBe(true);
    });

    it('answers 403 to a non-member and caches no page for them', async () => {
      await t.redis.del(`${t.prefix}chat:1:messages:3`);
      const res = await page(1, 3, outsider);
      expect(res.statusCode).toBe(403);
      expect(res.headers['x-cache']).toBeUndefined();
      expect(await t.keyExists('chat:1:messages:3')).toBe(false);
      // A page a member already cached is still refused to the outsider.
      await page(1, 1);
      expect((await page(1, 1, outsider)).statusCode).toBe(403);
    });

    it('answers 404 for an unknown chat (nothing cached), 400 naming the field, 401 without a session', async () => {
      expect((await page(999_999)).statusCode).toBe(404);
      expect(await t.keyExists('chat:999999')).toBe(false);
      const bad = await page(1, 'x');
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ field: 'page' });
      expect((await t.app.inject({ method: 'GET', url: '/chats/1/messages' })).statusCode).toBe(401);
    });
  });

  describe('POST /chats/:id/messages', () => {
    it('invalidates every page of that chat and nothing of other chats, without a scan; the next page 1 is a MISS starting with the message', async () => {
      await page(1, 1);
      await page(1, 2);
      await page(12, 1, member12);
      expect((await page(1, 2)).headers['x-cache']).toBe('HIT');
      expect((await page(12, 1, member12)).headers['x-cache']).toBe('HIT');
      const scansBefore = await t.redisCalls('scan');
      const res = await post(1, 'hello from the test');
      expect(res.statusCode).toBe(201);
      const msg = res.json<{ id: number; chatId: number; body: string }>();
      expect(msg).toMatchObject({ chatId: 1, body: 'hello from the test' });
      // The chat's tag moved: nothing was scanned, whatever the keyspace holds.
      expect(await t.redisCalls('scan')).toBe(scansBefore);
      const after = await page(1, 1);
      expect(after.headers['x-cache']).toBe('MISS');
      expect(after.json<Page>().items[0]).toMatchObject({ id: msg.id, body: 'hello from the test' });
      expect((await page(1, 1)).headers['x-cache']).toBe('HIT');
      // Page 2 shifted by one message too.
      const second = await page(1, 2);
      expect(second.headers['x-cache']).toBe('MISS');
      const newest = await t.deps.data.chat.listMessages(1, 2, PAGE_SIZE.chatMessages);
      expect(second.json<Page>().items.map((m) => m.id)).toEqual(newest.items.map((m) => m.id));
      // Another chat's pages and the membership entry (not a page) stay cached.
      expect((await page(12, 1, member12)).headers['x-cache']).toBe('HIT');
      expect(await t.keyExists('chat:1')).toBe(true);
    });

    it('answers 403 to a non-member (nothing posted, nothing invalidated)', async () => {
      await page(1, 1);
      const res = await post(1, 'let me in', outsider);
      expect(res.statusCode).toBe(403);
      expect((await page(1, 1)).headers['x-cache']).toBe('HIT');
      const newest = await t.deps.data.chat.listMessages(1, 1, 20);
      expect(newest.items.map((m) => m.body)).not.toContain('let me in');
    });

    it('answers 404 for an unknown chat and 400 naming the field', async () => {
      expect((await post(999_999, 'hi')).statusCode).toBe(404);
      const empty = await post(1, '');
      expect(empty.statusCode).toBe(400);
      expect(empty.json()).toMatchObject({ field: 'body' });
      const blank = await post(1, '   ');
      expect(blank.json()).toMatchObject({ field: 'body' });
      const long = await post(1, 'x'.repeat(4001));
      expect(long.json()).toMatchObject({ field: 'body' });
    });
  });
});
