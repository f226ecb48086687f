/** Users: profile reads (MISS then HIT), own-profile edits and exactly what they invalidate. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, describeEachDatabase, type TestApp } from '../../helpers/app.ts';

describeEachDatabase('users', (database) => {
  let t: TestApp;
  let demo: string;
  let user2: string;

  beforeAll(async () => {
    t = await createTestApp({ database });
    [demo, user2] = await Promise.all([t.loginAs(1), t.loginAs(2)]);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const get = (id: number | string, token = demo) => t.app.inject({ method: 'GET', url: `/users/${id}`, headers: bearer(token) });
  const patch = (id: number | string, payload: object, token = demo) => t.app.inject({ method: 'PATCH', url: `/users/${id}`, headers: bearer(token), payload });

  describe('GET /users/:id', () => {
    it('reads a profile: MISS, then HIT from user:{id}:profile', async () => {
      const first = await get(3);
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      expect(first.json()).toMatchObject({ id: 3, displayName: expect.any(String) as string, bio: expect.any(String) as string });
      expect(first.json()).not.toHaveProperty('email');
      expect(await t.keyExists('user:3:profile')).toBe(true);
      const second = await get(3);
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.json()).toEqual(first.json());
    });

    it('answers 404 for an unknown id and caches nothing', async () => {
      const res = await get(999_999);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: 'E_NOT_FOUND' });
      expect(await t.keyExists('user:999999:profile')).toBe(false);
    });

    it('answers 400 naming the field for a malformed id', async () => {
      const res = await get('abc');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'E_BAD_REQUEST', field: 'id' });
    });

    it('answers 401 without a session', async () => {
      const res = await t.app.inject({ method: 'GET', url: '/users/1' });
      expect(res.statusCode).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    });
  });

  describe('PATCH /users/:id', () => {
    it('edits the own profile: deletes only that profile key, the next read is a MISS with the new data', async () => {
      await get(1);
      await get(2);
      expect(await t.keyExists('user:1:profile')).toBe(true);
      const res = await patch(1, { bio: 'Edited bio', avatarUrl: null });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: 1, bio: 'Edited bio', avatarUrl: null });
      expect(await t.keyExists('user:1:profile')).toBe(false);
      expect(await t.keyExists('user:2:profile')).toBe(true);
      const after = await get(1);
      expect(after.headers['x-cache']).toBe('MISS');
      expect(after.json()).toMatchObject({ bio: 'Edited bio', avatarUrl: null });
    });

    it('a display-name change also deletes the member lists of the user\'s guilds and the boards showing the user', async () => {
      const top = (await t.deps.data.leaderboards.top('global', 1))[0]?.userId as number;
      const token = await t.loginAs(top);
      const theirs = await t.deps.data.guilds.guildIdsOfUser(top);
      // Seeded guilds are numbered from 1 (one per 50 users): the first one the user is not in.
      let unrelated = 1;
      while (theirs.includes(unrelated)) unrelated++;
      for (const g of [...theirs, unrelated]) await t.app.inject({ method: 'GET', url: `/guilds/${g}/members`, headers: bearer(token) });
      await t.app.inject({ method: 'GET', url: '/leaderboards/global' });

      // Bio only: the name is unchanged, so only the profile goes.
      await patch(top, { bio: 'still me' }, token);
      expect(await t.keyExists('leaderboard:global')).toBe(true);
      for (const g of theirs) expect(await t.keyExists(`guild:${g}:members`)).toBe(true);

      const res = await patch(top, { displayName: 'Renamed Champion' }, token);
      expect(res.statusCode).toBe(200);
      expect(await t.keyExists('leaderboard:global')).toBe(false);
      for (const g of theirs) expect(await t.keyExists(`guild:${g}:members`)).toBe(false);
      expect(await t.keyExists(`guild:${unrelated}:members`)).toBe(true);
      const board = await t.app.inject({ method: 'GET', url: '/leaderboards/global?limit=1' });
      expect(board.json<{ entries: { displayName: string }[] }>().entries[0]?.displayName).toBe('Renamed Champion');
    });

    it('answers 403 for another user\'s profile and changes nothing', async () => {
      await get(2);
      const res = await patch(2, { bio: 'hijacked' });
      expect(res.statusCode).toBe(403);
      expect(await t.keyExists('user:2:profile')).toBe(true);
      expect((await get(2, user2)).json()).not.toMatchObject({ bio: 'hijacked' });
    });

    it('answers 400 naming the field', async () => {
      const long = await patch(1, { displayName: 'x'.repeat(101) });
      expect(long.statusCode).toBe(400);
      expect(long.json()).toMatchObject({ field: 'displayName' });
      const blank = await patch(1, { displayName: '   ' });
      expect(blank.json()).toMatchObject({ field: 'displayName' });
      const url = await patch(1, { avatarUrl: 'javascript:alert(1)' });
      expect(url.statusCode).toBe(400);
      expect(url.json()).toMatchObject({ field: 'avatarUrl' });
      const extra = await patch(1, { email: 'x@example.com' });
      expect(extra.statusCode).toBe(400);
      expect(extra.json()).toMatchObject({ field: 'email' });
      const empty = await patch(1, {});
      expect(empty.statusCode).toBe(400);
      expect(empty.json()).toMatchObject({ field: 'body' });
    });
  });
});
