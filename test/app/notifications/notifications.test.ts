/** Notifications: the own list (MISS then HIT), marking read and exactly what it invalidates. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, describeEachDatabase, type TestApp } from '../../helpers/app.ts';

describeEachDatabase('notifications', (database) => {
  let t: TestApp;
  let demo: string;
  let user2: string;

  interface List {
    items: { id: number; body: string; readAt: string | null }[];
    unread: number;
  }

  beforeAll(async () => {
    t = await createTestApp({ database });
    [demo, user2] = await Promise.all([t.loginAs(1), t.loginAs(2)]);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const list = (token = demo) => t.app.inject({ method: 'GET', url: '/notifications', headers: bearer(token) });
  const read = (id: number | string, token = demo) => t.app.inject({ method: 'POST', url: `/notifications/${id}/read`, headers: bearer(token) });

  describe('GET /notifications', () => {
    it('lists the own notifications: MISS, then HIT from notifications:{userId}', async () => {
      const first = await list();
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      const body = first.json<List>();
      expect(body.items).toHaveLength(3);
      expect(body.unread).toBe(1);
      expect((await list()).headers['x-cache']).toBe('HIT');
      expect(await t.keyExists('notifications:1')).toBe(true);
    });

    it('answers 401 without a session', async () => {
      expect((await t.app.inject({ method: 'GET', url: '/notifications' })).statusCode).toBe(401);
    });
  });

  describe('POST /notifications/:id/read', () => {
    it('marks the own unread notification read: deletes that user\'s list only; the next read shows it', async () => {
      const mine = (await list()).json<List>();
      await list(user2);
      const unread = mine.items.find((n) => n.readAt === null);
      expect(unread).toBeDefined();
      const res = await read(unread?.id as number);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: unread?.id, readAt: expect.any(String) as string });
      expect(await t.keyExists('notifications:1')).toBe(false);
      expect(await t.keyExists('notifications:2')).toBe(true);
      const after = await list();
      expect(after.headers['x-cache']).toBe('MISS');
      expect(after.json<List>().unread).toBe(0);
    });

    it('an already-read notification: 200, nothing stale, nothing deleted', async () => {
      const mine = (await list()).json<List>();
      const already = mine.items[0];
      expect(already?.readAt).not.toBeNull();
      const res = await read(already?.id as number);
      expect(res.statusCode).toBe(200);
      expect(await t.keyExists('notifications:1')).toBe(true);
    });

    it('answers 404 for another user\'s notification, the same answer as for an unknown one (ids cannot be probed)', async () => {
      const theirs = (await list(user2)).json<List>().items.find((n) => n.readAt === null)?.id as number;
      expect(theirs).toBeDefined();
      const res = await read(theirs);
      const missing = await read(999_999);
      expect(res.statusCode).toBe(404);
      expect(missing.statusCode).toBe(404);
      expect(res.json()).toEqual(missing.json());
      expect(res.json()).toEqual({ error: 'E_NOT_FOUND', message: 'Notification not found' });
      // Nothing was marked read, nothing invalidated.
      expect(await t.keyExists('notifications:2')).toBe(true);
      expect((await list(user2)).json<List>().items.find((n) => n.id === theirs)?.readAt).toBeNull();
      const bad = await read('x');
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ field: 'id' });
    });
  });
});
