/**
 * The guilds port (guilds.data.ts) as a contract: the same assertions against the SQL adapter
 * and the Firestore adapter (emulator), each on its own seeded data set. Seed structure used:
 * user u belongs to guild ceil(u/50), owned by user 50(g-1)+1; some users join a second guild.
 */
import { expect, it } from 'vitest';
import type { GuildMember } from '../../../src/app/guilds/guilds.data.ts';
import { ContentionError } from '../../../src/app/http/errors.ts';
import { describePorts, PORT_BACKENDS } from '../../helpers/ports.ts';

const USERS = 120; // guilds 1..3 (3 holds users 101..120)
const GUILDS = 3;
const NO_GUILD = 999;

const sortedByJoin = (ms: readonly GuildMember[]): GuildMember[] => [...ms].sort((a, b) => a.joinedAt.localeCompare(b.joinedAt) || a.userId - b.userId);

describePorts('guilds port: %s adapter', { users: USERS }, (b) => {
  const g = b.guilds;

  /** Users of guild 1's block (4..50: plain members) that are not in `guildId`. */
  async function outsiders(guildId: number, n: number): Promise<number[]> {
    const out: number[] = [];
    for (let u = 4; u <= 50 && out.length < n; u++) if (!(await g.guildIdsOfUser(u)).includes(guildId)) out.push(u);
    expect(out).toHaveLength(n);
    return out;
  }

  /** memberCount agrees with the member list, and every member's mirror names the guild. */
  async function expectConsistent(guildId: number): Promise<number> {
    const guild = await g.findGuild(guildId);
    const members = (await g.findMembers(guildId, 1000)) ?? [];
    expect(guild?.memberCount).toBe(members.length);
    const mirrors = await Promise.all(members.map((m) => g.guildIdsOfUser(m.userId)));
    for (const ids of mirrors) expect(ids).toContain(guildId);
    return members.length;
  }

  it('findGuild: the seeded guild with its owner and ISO time; undefined when missing', async () => {
    const guild = await g.findGuild(2);
    expect(guild).toMatchObject({ id: 2, ownerId: 51, name: expect.any(String) as string, description: expect.any(String) as string });
    expect(guild?.memberCount).toBeGreaterThanOrEqual(50);
    expect(new Date(guild?.createdAt ?? '').toISOString()).toBe(guild?.createdAt);
    expect(await g.findGuild(NO_GUILD)).toBeUndefined();
  });

  it('findMembers: oldest first (ties by user id), limited, roles from the seed; undefined for a missing guild', async () => {
    const all = await g.findMembers(1, 1000);
    expect(all).toBeDefined();
    const members = all ?? [];
    expect(members).toEqual(sortedByJoin(members));
    expect(members.length).toBe((await g.findGuild(1))?.memberCount);
    const byId = new Map(members.map((m) => [m.userId, m]));
    expect(byId.get(1)?.role).toBe('owner');
    expect(byId.get(2)?.role).toBe('officer');
    expect(byId.get(4)?.role).toBe('member');
    for (let u = 1; u <= 50; u++) expect(byId.has(u)).toBe(true);
    for (const m of members) {
      expect(m.displayName.length).toBeGreaterThan(0);
      expect(new Date(m.joinedAt).toISOString()).toBe(m.joinedAt);
    }
    expect(await g.findMembers(1, 5)).toEqual(members.slice(0, 5));
    expect(await g.findMembers(NO_GUILD, 10)).toBeUndefined();
  });

  it('guildIdsOfUser: the block guild, plus a second one for some users; nothing for an unknown user', async () => {
    expect(await g.guildIdsOfUser(1)).toContain(1);
    expect(await g.guildIdsOfUser(110)).toContain(3);
    expect(await g.guildIdsOfUser(10_000)).toEqual([]);
    // Exactly the guilds whose member lists hold the user.
    const lists = await Promise.all([1, 2, 3].map(async (id) => [id, (await g.findMembers(id, 1000)) ?? []] as const));
    for (const u of [1, 7, 60, 115]) {
      const expected = lists.filter(([, ms]) => ms.some((m) => m.userId === u)).map(([id]) => id);
      expect([...(await g.guildIdsOfUser(u))].sort()).toEqual(expected.sort());
    }
  });

  it('topGuilds: activityScore descending, ties by id, at most `limit`', async () => {
    const all = await g.topGuilds(100);
    expect(all.map((x) => x.id).sort()).toEqual([1, 2, 3]);
    for (let i = 1; i < all.length; i++) {
      const [a, b] = [all[i - 1], all[i]];
      expect(a !== undefined && b !== undefined && (a.activityScore > b.activityScore || (a.activityScore === b.activityScore && a.id < b.id))).toBe(true);
    }
    expect(await g.topGuilds(2)).toEqual(all.slice(0, 2));
    expect(all[0]).toEqual(await g.findGuild(all[0]?.id ?? 0));
  });

  it('membersOfGuilds: every id is a key, each list is findMembers with the same limit', async () => {
    const m = await g.membersOfGuilds([2, 1, NO_GUILD], 4);
    expect([...m.keys()].sort((a, b) => a - b)).toEqual([1, 2, NO_GUILD]);
    expect(m.get(1)).toEqual(await g.findMembers(1, 4));
    expect(m.get(2)).toEqual(await g.findMembers(2, 4));
    expect(m.get(NO_GUILD)).toEqual([]);
    expect((await g.membersOfGuilds([], 4)).size).toBe(0);
  });

  it('join: a plain member with the copied display name, count and mirror in step; then 409; 404 without the guild', async () => {
    const [u] = await outsiders(2, 1);
    const user = u ?? 0;
    const before = (await g.findGuild(2))?.memberCount ?? 0;
    const ownName = (await g.findMembers(1, 1000))?.find((m) => m.userId === user)?.displayName;
    const joined = await g.join(2, user);
    expect(joined).toMatchObject({ userId: user, role: 'member', displayName: ownName });
    expect(new Date(joined.joinedAt).toISOString()).toBe(joined.joinedAt);
    expect((await g.findGuild(2))?.memberCount).toBe(before + 1);
    expect((await g.findMembers(2, 1000))?.find((m) => m.userId === user)).toEqual(joined);
    expect(await g.guildIdsOfUser(user)).toContain(2);
    await expect(g.join(2, user)).rejects.toMatchObject({ statusCode: 409, code: 'E_ALREADY_MEMBER' });
    await expect(g.join(NO_GUILD, user)).rejects.toMatchObject({ statusCode: 404, code: 'E_NOT_FOUND' });
    expect((await g.findGuild(2))?.memberCount).toBe(before + 1);
    await expectConsistent(2);
  });

  it('removeMember: 404 guild, 403 stranger, 409 owner, 404 non-member; the member or the owner removes', async () => {
    const [a, b, stranger] = await outsiders(2, 3);
    const [ua, ub, us] = [a ?? 0, b ?? 0, stranger ?? 0];
    await g.join(2, ua);
    await g.join(2, ub);
    const before = (await g.findGuild(2))?.memberCount ?? 0;
    await expect(g.removeMember(ua, NO_GUILD, ua)).rejects.toMatchObject({ statusCode: 404, message: 'Guild not found' });
    await expect(g.removeMember(us, 2, ua)).rejects.toMatchObject({ statusCode: 403, code: 'E_FORBIDDEN' });
    await expect(g.removeMember(51, 2, 51)).rejects.toMatchObject({ statusCode: 409, code: 'E_OWNER_CANNOT_LEAVE' });
    await expect(g.removeMember(us, 2, us)).rejects.toMatchObject({ statusCode: 404, message: 'Member not found' });
    // The 403 is checked before membership: a stranger "removing" a non-member is a 403.
    await expect(g.removeMember(ua, 2, us)).rejects.toMatchObject({ statusCode: 403 });
    expect((await g.findGuild(2))?.memberCount).toBe(before);

    await g.removeMember(ua, 2, ua); // leaves
    await g.removeMember(51, 2, ub); // removed by the owner
    expect((await g.findGuild(2))?.memberCount).toBe(before - 2);
    const members = (await g.findMembers(2, 1000)) ?? [];
    expect(members.some((m) => m.userId === ua || m.userId === ub)).toBe(false);
    expect(await g.guildIdsOfUser(ua)).not.toContain(2);
    expect(await g.guildIdsOfUser(ub)).not.toContain(2);
    await expect(g.removeMember(ua, 2, ua)).rejects.toMatchObject({ statusCode: 404 });
    await expectConsistent(2);
    // And may join again.
    await g.join(2, ua);
    expect(await g.guildIdsOfUser(ua)).toContain(2);
  });

  it('concurrent joins and leaves on one guild: never a lost or doubled count (a loser is a typed 503, never a 500)', async () => {
    const users = await outsiders(3, 8);
    const before = await expectConsistent(3);
    const settled = await Promise.allSettled(users.map((u) => g.join(3, u)));
    for (const s of settled) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(ContentionError);
    const joined = users.filter((_, i) => settled[i]?.status === 'fulfilled');
    expect(joined.length).toBeGreaterThan(0);
    expect(await expectConsistent(3)).toBe(before + joined.length);

    // The same user twice at once: one join at most.
    const [twice] = await outsiders(3, 1);
    const both = await Promise.allSettled([g.join(3, twice ?? 0), g.join(3, twice ?? 0)]);
    const ok = both.filter((s) => s.status === 'fulfilled').length;
    expect(ok).toBeLessThanOrEqual(1);
    for (const s of both) if (s.status === 'rejected') expect((s.reason as { statusCode?: number }).statusCode).toBeOneOf([409, 503]);
    expect(await expectConsistent(3)).toBe(before + joined.length + ok);

    const left = await Promise.allSettled(joined.map((u) => g.removeMember(u, 3, u)));
    for (const s of left) if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(ContentionError);
    const leftCount = left.filter((s) => s.status === 'fulfilled').length;
    expect(await expectConsistent(3)).toBe(before + joined.length + ok - leftCount);
  }, 60_000);

  if (b.name === 'firestore') {
    it('bills what docs/firestore.md says: guild 1 read, join 3 reads + 3 writes, leave 2 reads + 1 write + 2 deletes, members 1 read each', async () => {
      const { bill } = b.requireFirestore();
      const [u] = await outsiders(2, 1);
      const reads = (): number => bill.snapshot().guilds?.reads ?? 0;
      bill.reset();
      await g.findGuild(1);
      expect(reads()).toBe(1);
      bill.reset();
      await g.join(2, u ?? 0);
      expect(bill.snapshot().guilds).toEqual({ reads: 3, writes: 3, deletes: 0 });
      bill.reset();
      await g.removeMember(u ?? 0, 2, u ?? 0);
      expect(bill.snapshot().guilds).toEqual({ reads: 2, writes: 1, deletes: 2 });
      bill.reset();
      await g.findMembers(1, 10);
      expect(reads()).toBe(10);
    });
  }
});

it('has both adapters', () => {
  expect([...PORT_BACKENDS]).toEqual(['sql', 'firestore']);
  expect(GUILDS).toBe(Math.ceil(USERS / 50));
});
