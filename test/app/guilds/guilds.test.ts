/** Guilds: guild and member reads (MISS then HIT), join / leave / removal by the owner, and exactly what they invalidate. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, describeEachDatabase, type TestApp } from '../../helpers/app.ts';

describeEachDatabase('guilds', (database) => {
  let t: TestApp;
  /** A user who is a member of guild 2 only (seed: users 51..100 are in guild 2). */
  let member: { id: number; token: string };
  /** Owner of guild 2. */
  let owner: string;
  let outsiderGuild: number;

  beforeAll(async () => {
    t = await createTestApp({ database });
    // Through the ports, so the same lookup holds on both databases.
    const members = (await t.deps.data.guilds.findMembers(2, 100)) ?? [];
    let id = 0;
    for (const m of [...members].sort((a, b) => a.userId - b.userId)) {
      if (m.role !== 'member') continue;
      const guildIds = await t.deps.data.guilds.guildIdsOfUser(m.userId);
      if (guildIds.length === 1 && guildIds[0] === 2) {
        id = m.userId;
        break;
      }
    }
    expect(id).toBeGreaterThan(0);
    const guilds = [await t.deps.data.guilds.findGuild(2)];
    const [token, ownerToken] = await Promise.all([t.loginAs(id), t.loginAs(guilds[0]?.ownerId as number)]);
    member = { id, token };
    owner = ownerToken;
    outsiderGuild = 3;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const req = (method: 'GET' | 'POST' | 'DELETE', url: string, token = member.token) => t.app.inject({ method, url, headers: bearer(token) });

  async function warm(...guildIds: number[]): Promise<void> {
    for (const g of guildIds) {
      await req('GET', `/guilds/${g}`);
      await req('GET', `/guilds/${g}/members`);
    }
  }

  describe('reads', () => {
    it('GET /guilds/:id: MISS, then HIT from guild:{id}', async () => {
      const first = await req('GET', '/guilds/1');
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      expect(first.json()).toMatchObject({ id: 1, ownerId: 1, memberCount: expect.any(Number) as number });
      const second = await req('GET', '/guilds/1');
      expect(second.headers['x-cache']).toBe('HIT');
      expect(second.json()).toEqual(first.json());
    });

    it('GET /guilds/:id/members: MISS, then HIT from guild:{id}:members', async () => {
      const first = await req('GET', '/guilds/1/members');
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      const body = first.json<{ guildId: number; members: { userId: number; role: string; displayName: string }[] }>();
      expect(body.guildId).toBe(1);
      expect(body.members.find((m) => m.userId === 1)).toMatchObject({ role: 'owner', displayName: expect.any(String) as string });
      expect((await req('GET', '/guilds/1/members')).headers['x-cache']).toBe('HIT');
      expect(await t.keyExists('guild:1:members')).toBe(true);
    });

    it('answers 404 for an unknown guild, caching nothing', async () => {
      expect((await req('GET', '/guilds/999999')).statusCode).toBe(404);
      expect((await req('GET', '/guilds/999999/members')).statusCode).toBe(404);
      expect(await t.keyExists('guild:999999')).toBe(false);
      expect(await t.keyExists('guild:999999:members')).toBe(false);
    });

    it('answers 400 naming the field, and 401 without a session', async () => {
      const bad = await req('GET', '/guilds/0');
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ field: 'id' });
      expect((await t.app.inject({ method: 'GET', url: '/guilds/1' })).statusCode).toBe(401);
    });
  });

  describe('POST /guilds/:id/members (join)', () => {
    it('joins: deletes guild:{id} and guild:{id}:members only; the next reads show the new member', async () => {
      await warm(outsiderGuild, 2, 1);
      const before = (await req('GET', `/guilds/${outsiderGuild}`)).json<{ memberCount: number }>();
      const res = await req('POST', `/guilds/${outsiderGuild}/members`);
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ userId: member.id, role: 'member' });
      expect(await t.keyExists(`guild:${outsiderGuild}`)).toBe(false);
      expect(await t.keyExists(`guild:${outsiderGuild}:members`)).toBe(false);
      for (const g of [1, 2]) {
        expect(await t.keyExists(`guild:${g}`)).toBe(true);
        expect(await t.keyExists(`guild:${g}:members`)).toBe(true);
      }
      const guild = await req('GET', `/guilds/${outsiderGuild}`);
      expect(guild.headers['x-cache']).toBe('MISS');
      expect(guild.json<{ memberCount: number }>().memberCount).toBe(before.memberCount + 1);
      const members = await req('GET', `/guilds/${outsiderGuild}/members`);
      expect(members.headers['x-cache']).toBe('MISS');
      expect(members.json<{ members: { userId: number }[] }>().members.map((m) => m.userId)).toContain(member.id);
    });

    it('answers 409 when already a member and 404 for an unknown guild', async () => {
      const again = await req('POST', `/guilds/${outsiderGuild}/members`);
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ error: 'E_ALREADY_MEMBER' });
      expect((await req('POST', '/guilds/999999/members')).statusCode).toBe(404);
    });
  });

  describe('DELETE /guilds/:id/members/:userId', () => {
    it('a member leaves: both keys of that guild go, the count drops', async () => {
      await warm(outsiderGuild, 2);
      const before = (await req('GET', `/guilds/${outsiderGuild}`)).json<{ memberCount: number }>();
      await req('GET', `/guilds/${outsiderGuild}/members`);
      const res = await req('DELETE', `/guilds/${outsiderGuild}/members/${member.id}`);
      expect(res.statusCode).toBe(204);
      expect(await t.keyExists(`guild:${outsiderGuild}`)).toBe(false);
      expect(await t.keyExists(`guild:${outsiderGuild}:members`)).toBe(false);
      expect(await t.keyExists('guild:2:members')).toBe(true);
      expect((await req('GET', `/guilds/${outsiderGuild}`)).json<{ memberCount: number }>().memberCount).toBe(before.memberCount - 1);
    });

    it('answers 403 when removing someone else without owning the guild, and keeps the cache', async () => {
      const other = ((await t.deps.data.guilds.findMembers(2, 100)) ?? []).find((m) => m.userId !== member.id && m.role === 'member');
      const rows = [{ user_id: other?.userId }];
      await warm(2);
      const res = await req('DELETE', `/guilds/2/members/${rows[0]?.user_id}`);
      expect(res.statusCode).toBe(403);
      expect(await t.keyExists('guild:2:members')).toBe(true);
    });

    it('the owner removes a member; the owner cannot leave their own guild', async () => {
      const other = ((await t.deps.data.guilds.findMembers(2, 100)) ?? []).find((m) => m.userId !== member.id && m.role === 'member');
      const rows = [{ user_id: other?.userId, owner_id: (await t.deps.data.guilds.findGuild(2))?.ownerId }];
      const victim = rows[0]?.user_id as number;
      await warm(2);
      expect((await req('DELETE', `/guilds/2/members/${victim}`, owner)).statusCode).toBe(204);
      expect(await t.keyExists('guild:2:members')).toBe(false);
      const members = (await req('GET', '/guilds/2/members')).json<{ members: { userId: number }[] }>();
      expect(members.members.map((m) => m.userId)).not.toContain(victim);
      const self = await req('DELETE', `/guilds/2/members/${rows[0]?.owner_id}`, owner);
      expect(self.statusCode).toBe(409);
      expect(self.json()).toMatchObject({ error: 'E_OWNER_CANNOT_LEAVE' });
    });

    it('answers 404 for an unknown guild or someone who is not a member', async () => {
      expect((await req('DELETE', `/guilds/999999/members/${member.id}`)).statusCode).toBe(404);
      expect((await req('DELETE', `/guilds/${outsiderGuild}/members/${member.id}`)).statusCode).toBe(404);
    });
  });
});
