/**
 * The users port (users.data.ts) contract, the same assertions on the SQL adapter and the
 * Firestore adapter (emulator), plus what only Firestore has: the display-name copies in
 * guild members and leaderboard scores that a rename rewrites, and the billed reads/writes.
 */
import { expect, it } from 'vitest';
import { BOARD_TYPES, refs } from '../../../src/app/db/firestore/model.ts';
import { ContentionError } from '../../../src/app/http/errors.ts';
import { describePorts } from '../../helpers/ports.ts';

const USERS = 120;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// Copies per transaction = 1 on Firestore, so a user in two guilds also exercises the
// follow-up transactions after the profile commit.
describePorts('users port on %s', { users: USERS, usersOptions: { copiesPerTransaction: 1 } }, (b) => {
  it('findProfile: the public profile (no email, no hash), ISO times; undefined for unknown or impossible ids', async () => {
    const p = await b.users.findProfile(1);
    expect(p).toBeDefined();
    expect(Object.keys(p ?? {}).sort()).toEqual(['avatarUrl', 'bio', 'createdAt', 'displayName', 'id', 'updatedAt']);
    expect(p).toMatchObject({ id: 1, displayName: 'Demo User' });
    expect(p?.createdAt).toMatch(ISO);
    expect(p?.updatedAt).toMatch(ISO);
    for (const id of [USERS + 1_000, 0, -1, 2 ** 53]) expect(await b.users.findProfile(id)).toBeUndefined();
  });

  it('updateProfile applies only the given fields, sets updatedAt, returns the previous name', async () => {
    const before = await b.users.findProfile(3);
    if (before === undefined) throw new Error('user 3 missing');
    const r = await b.users.updateProfile(3, { bio: 'new bio' });
    expect(r?.previousDisplayName).toBe(before.displayName);
    expect(r?.profile).toMatchObject({ id: 3, displayName: before.displayName, bio: 'new bio', avatarUrl: before.avatarUrl, createdAt: before.createdAt });
    expect(Date.parse(r?.profile.updatedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
    expect(await b.users.findProfile(3)).toEqual(r?.profile);

    const withAvatar = await b.users.updateProfile(3, { avatarUrl: 'https://example.com/a.png' });
    expect(withAvatar?.profile.avatarUrl).toBe('https://example.com/a.png');
    expect((await b.users.updateProfile(3, { bio: 'again' }))?.profile.avatarUrl).toBe('https://example.com/a.png'); // undefined leaves it
    expect((await b.users.updateProfile(3, { avatarUrl: null }))?.profile.avatarUrl).toBeNull(); // null clears it
    expect(await b.users.findProfile(3)).toMatchObject({ bio: 'again', avatarUrl: null });
  });

  it('a rename returns the name before it; unknown ids give undefined and write nothing', async () => {
    const before = await b.users.findProfile(4);
    const r = await b.users.updateProfile(4, { displayName: 'Renamed Four' });
    expect(r).toMatchObject({ previousDisplayName: before?.displayName, profile: { displayName: 'Renamed Four' } });
    expect((await b.users.updateProfile(4, { displayName: 'Renamed Again' }))?.previousDisplayName).toBe('Renamed Four');
    expect(await b.users.updateProfile(USERS + 1_000, { displayName: 'Ghost' })).toBeUndefined();
    expect(await b.users.updateProfile(0, { bio: 'x' })).toBeUndefined();
    expect(await b.users.findProfile(USERS + 1_000)).toBeUndefined();
  });

  it('concurrent edits of different fields both land (atomic read-modify-write, no lost update)', async () => {
    await Promise.all([b.users.updateProfile(5, { bio: 'concurrent bio' }), b.users.updateProfile(5, { displayName: 'Concurrent Name' })]);
    expect(await b.users.findProfile(5)).toMatchObject({ bio: 'concurrent bio', displayName: 'Concurrent Name' });
  });

  if (b.name === 'firestore') {
    it('a rename rewrites every copy of the name (members of each guild, both scores) and bills what docs/firestore.md says', async () => {
      const fs = b.requireFirestore();
      const r = refs(fs.db);
      // A user in two guilds (one in five of the seeded users joins a second one).
      let userId = 0;
      let guildIds: number[] = [];
      for (let u = 10; u <= USERS && userId === 0; u++) {
        const mirror = await r.userGuilds(u).get();
        if (mirror.size === 2) {
          userId = u;
          guildIds = mirror.docs.map((d) => d.data().guildId);
        }
      }
      expect(userId).toBeGreaterThan(0);
      fs.ctx.bill.reset();
      const res = await b.users.updateProfile(userId, { displayName: 'Copied Everywhere' });
      expect(res?.profile.displayName).toBe('Copied Everywhere');
      for (const g of guildIds) expect((await r.guildMember(g, userId).get()).data()?.displayName).toBe('Copied Everywhere');
      for (const type of BOARD_TYPES) expect((await r.score(type, userId).get()).data()?.displayName).toBe('Copied Everywhere');
      // Profile tx: user 1 + mirror 2 + first member 1 + scores 2 = 6 reads; writes user + member + 2 scores.
      // Follow-up (copiesPerTransaction = 1): user 1 + second member 1 = 2 reads; 1 write.
      expect(fs.ctx.bill.snapshot().users).toEqual({ reads: 8, writes: 5, deletes: 0 });

      // Same name again: no copy is touched, one read and one write (the profile's updatedAt).
      fs.ctx.bill.reset();
      await b.users.updateProfile(userId, { displayName: 'Copied Everywhere', bio: 'x' });
      expect(fs.ctx.bill.snapshot().users).toEqual({ reads: 1, writes: 1, deletes: 0 });
    });

    it('racing renames converge: every copy ends with the last committed name', async () => {
      const fs = b.requireFirestore();
      const r = refs(fs.db);
      let userId = 0;
      let guildIds: number[] = [];
      for (let u = USERS; u >= 10 && userId === 0; u--) {
        const mirror = await r.userGuilds(u).get();
        if (mirror.size === 2) {
          userId = u;
          guildIds = mirror.docs.map((d) => d.data().guildId);
        }
      }
      expect(userId).toBeGreaterThan(0);
      const names = ['Racer A', 'Racer B', 'Racer C'];
      const outcomes = await Promise.allSettled(names.map((n) => b.users.updateProfile(userId, { displayName: n })));
      // The emulator may still abort one after the client's retries: then it is a typed 503, never another error.
      for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ContentionError);
      const landed = names.filter((_, i) => outcomes[i]?.status === 'fulfilled');
      expect(landed.length).toBeGreaterThan(0);
      const final = (await r.user(userId).get()).data()?.displayName;
      expect(landed).toContain(final);
      for (const g of guildIds) expect((await r.guildMember(g, userId).get()).data()?.displayName).toBe(final);
      for (const type of BOARD_TYPES) expect((await r.score(type, userId).get()).data()?.displayName).toBe(final);
    }, 60_000);

    it('a user with no score documents yet (signed up later) can be renamed: missing copies are skipped, not created', async () => {
      const fs = b.requireFirestore();
      const r = refs(fs.db);
      await r.score('weekly', 6).delete();
      expect((await b.users.updateProfile(6, { displayName: 'No Weekly' }))?.profile.displayName).toBe('No Weekly');
      expect((await r.score('weekly', 6).get()).exists).toBe(false);
      expect((await r.score('global', 6).get()).data()?.displayName).toBe('No Weekly');
    });
  }
});
