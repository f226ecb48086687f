/**
 * The Firestore seed (src/app/db/firestore/seed.ts) on the official emulator: the same shape as
 * the SQL seed, every invariant of the data set, refusal of a second seed, and every query of
 * the data model (docs/firestore.md) run against the seeded data. One emulator for this file;
 * the 250-user data set is seeded once into its own project and only read by the tests that
 * check it; every test that seeds or writes uses a fresh project id.
 */
import { readFile } from 'node:fs/promises';
import { FieldValue, Timestamp, type DocumentData, type Firestore, type Query } from '@google-cloud/firestore';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_SCORE } from '../../../../src/app/bounds.ts';
import { SeedError } from '../../../../src/app/db/errors.ts';
import { createBill, type Bill } from '../../../../src/app/db/firestore/bill.ts';
import { connectFirestore, type FirestoreConnection } from '../../../../src/app/db/firestore/connection.ts';
import { IdAllocator, reserveIds } from '../../../../src/app/db/firestore/ids.ts';
import {
  BOARD_TYPES,
  LEDGER_SIGN,
  emailKey,
  paths,
  parseId,
  queries,
  refs,
  toIso,
  type GuildMemberDoc,
  type JobDoc,
  type LedgerType,
} from '../../../../src/app/db/firestore/model.ts';
import {
  FirestoreSeedRefusedError,
  SEEDED_COLLECTIONS,
  seedFirestore,
  type FirestoreSeedProgress,
  type FirestoreSeedSummary,
} from '../../../../src/app/db/firestore/seed.ts';
import { verifyPassword } from '../../../../src/app/db/passwords.ts';
import { DEMO_USER, LOADTEST_PASSWORD, MESSAGES_PER_CHAT, USERS_PER_CHAT, USERS_PER_GUILD } from '../../../../src/app/db/seed.ts';
import { describeFirestore, startFirestoreEmulator, type TestFirestoreEmulator } from '../../../helpers/firestore-emulator.ts';

const USERS = 250;
const GUILDS = Math.ceil(USERS / USERS_PER_GUILD);
const CHATS = Math.ceil(USERS / USERS_PER_CHAT);

it('builds document paths and parses ids', () => {
  expect(paths.guildMember(3, 151)).toBe('guilds/3/members/151');
  expect(paths.userByEmail(' User7@Example.com')).toBe('usersByEmail/user7%40example.com');
  expect(parseId('42')).toBe(42);
  for (const bad of ['0', '042', '-1', '1.5', 'x', '99999999999999999']) expect(parseId(bad)).toBeUndefined();
  expect(() => paths.user(0)).toThrow(RangeError);
  expect(() => paths.user(2 ** 53)).toThrow(RangeError);
});

it('firestore.indexes.json holds exactly the composite indexes the model\'s queries need', async () => {
  const file = JSON.parse(await readFile(new URL('../../../../firestore.indexes.json', import.meta.url), 'utf8')) as {
    indexes: Array<{ collectionGroup: string; queryScope: string; fields: Array<{ fieldPath: string; order: string }> }>;
    fieldOverrides: Array<{ collectionGroup: string; fieldPath: string; ttl?: boolean; indexes: unknown[] }>;
  };
  const asText = file.indexes.map((i) => `${i.queryScope} ${i.collectionGroup}(${i.fields.map((f) => `${f.fieldPath} ${f.order}`).join(', ')})`);
  // One per query of model.ts `queries` that orders on two fields or mixes equality and range.
  expect(asText.sort()).toEqual(
    [
      'COLLECTION jobs(status ASCENDING, createdAt DESCENDING, id DESCENDING)', // jobBoard
      'COLLECTION messages(createdAt DESCENDING, id DESCENDING)', // latestMessages
      'COLLECTION notifications(createdAt DESCENDING, id DESCENDING)', // latestNotifications
      'COLLECTION scores(score DESCENDING, userId ASCENDING)', // topScores
      'COLLECTION members(joinedAt ASCENDING, userId ASCENDING)', // guildMembers
      'COLLECTION guilds(activityScore DESCENDING, id ASCENDING)', // topGuilds
      'COLLECTION sessions(userId ASCENDING, expiresAt ASCENDING)', // expiredSessions
    ].sort(),
  );
  // The TTL policy of sessions, and no field override on a field some query filters or orders on.
  expect(file.fieldOverrides.find((o) => o.collectionGroup === 'sessions' && o.fieldPath === 'expiresAt')?.ttl).toBe(true);
  const queried = new Set(['readAt', 'score', 'status', 'createdAt', 'id', 'userId', 'joinedAt', 'activityScore', 'type']);
  for (const o of file.fieldOverrides) {
    if (o.fieldPath !== 'expiresAt') expect(queried.has(o.fieldPath)).toBe(false);
  }
});

describeFirestore('seedFirestore on the emulator', () => {
  let emu: TestFirestoreEmulator;
  const conns: FirestoreConnection[] = [];
  let db: Firestore;
  let bill: Bill;
  let summary: FirestoreSeedSummary;
  const progress: FirestoreSeedProgress[] = [];
  const now = new Date('2026-11-30T12:00:00.000Z');

  function fresh(): { db: Firestore; bill: Bill } {
    const conn = connectFirestore(`firestore://${emu.projectId()}`, { emulatorHost: emu.hostPort });
    conns.push(conn);
    return { db: conn.firestore, bill: createBill(conn.firestore) };
  }

  beforeAll(async () => {
    emu = await startFirestoreEmulator();
    ({ db, bill } = fresh());
    summary = await seedFirestore(db, bill, { users: USERS, throttling: false, now, progressEvery: 500, onProgress: (p) => progress.push(p) });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(conns.map((c) => c.close()));
    await emu?.stop();
  });

  const count = <A, D extends DocumentData>(q: Query<A, D>): Promise<number> => q.count().get().then((s) => s.data().count);
  const cg = (id: string): Query => db.collectionGroup(id);

  it('writes the documented proportions, and exactly what it reports', async () => {
    const r = refs(db);
    const open = await count(r.jobs().where('status', '==', 'open'));
    expect(open).toBeGreaterThan(0);
    expect(summary).toMatchObject({
      users: USERS,
      usersByEmail: USERS,
      guilds: GUILDS,
      jobs: USERS / 5,
      wallets: USERS,
      ledger: USERS * 3 + 2 * open,
      chats: CHATS,
      messages: CHATS * MESSAGES_PER_CHAT,
      notifications: USERS * 3,
      scores: USERS * 2,
      counters: 7,
    });
    expect(summary.guildMembers).toBeGreaterThan(USERS);
    expect(summary.chatMembers).toBeGreaterThan(USERS);
    expect(summary.userGuilds).toBe(summary.guildMembers);

    // What is in the database, per collection (collection groups sum same-named subcollections).
    expect(await count(r.users())).toBe(summary.users);
    expect(await count(r.usersByEmail())).toBe(summary.usersByEmail);
    expect(await count(r.jobs())).toBe(summary.jobs);
    expect(await count(r.wallets())).toBe(summary.wallets);
    expect(await count(r.chats())).toBe(summary.chats);
    expect(await count(db.collection('counters'))).toBe(summary.counters);
    expect(await count(cg('guilds'))).toBe(summary.guilds + summary.userGuilds);
    expect(await count(cg('members'))).toBe(summary.guildMembers + summary.chatMembers);
    expect(await count(cg('ledger'))).toBe(summary.ledger);
    expect(await count(cg('messages'))).toBe(summary.messages);
    expect(await count(cg('notifications'))).toBe(summary.notifications);
    expect(await count(cg('scores'))).toBe(summary.scores);

    // Every write went through the bill: the data, plus meta/seed created and then updated.
    const written = SEEDED_COLLECTIONS.reduce((sum, c) => sum + summary[c], 0);
    expect(bill.snapshot().seed).toMatchObject({ writes: written + 2, deletes: 0 });
  });

  it('gives user N the email userN@example.com and the shared load-test password; user 1 is the demo account', async () => {
    const r = refs(db);
    const user = (await r.user(77).get()).data();
    expect(user).toMatchObject({ id: 77, email: 'user77@example.com' });
    const login = (await r.userByEmail('user77@example.com').get()).data();
    expect(login?.userId).toBe(77);
    expect(await verifyPassword(LOADTEST_PASSWORD, login?.passwordHash ?? '')).toBe(true);
    expect(user).not.toHaveProperty('passwordHash');

    const demo = (await r.userByEmail(DEMO_USER.email).get()).data();
    expect(demo?.userId).toBe(1);
    expect(await verifyPassword(DEMO_USER.password, demo?.passwordHash ?? '')).toBe(true);
    expect(await verifyPassword('demo12345', demo?.passwordHash ?? '')).toBe(false);
    expect((await r.user(1).get()).data()).toMatchObject({ email: DEMO_USER.email, displayName: DEMO_USER.displayName });
    expect((await r.userByEmail('user1@example.com').get()).exists).toBe(false);

    // The shared password is hashed once: two distinct hashes in the whole data set.
    const hashes = new Set((await r.usersByEmail().get()).docs.map((d) => d.data().passwordHash));
    expect(hashes.size).toBe(2);
    // Every email document points at the user with that email.
    const users = new Map((await r.users().get()).docs.map((d) => [d.data().id, d.data()]));
    for (const d of (await r.usersByEmail().get()).docs) expect(d.id).toBe(emailKey(users.get(d.data().userId)?.email ?? '?'));
  });

  it('puts user u in guild ceil(u/50) and chat ceil(u/20), owners first, with the user-side mirror', async () => {
    const r = refs(db);
    const ids = Array.from({ length: USERS }, (_, i) => i + 1);
    const guildOf = (u: number): number => Math.ceil(u / USERS_PER_GUILD);
    const inGuild = await db.getAll(...ids.map((u) => r.guildMember(guildOf(u), u)));
    expect(inGuild.every((s) => s.exists)).toBe(true);
    const inChat = await db.getAll(...ids.map((u) => r.chatMember(Math.ceil(u / USERS_PER_CHAT), u)));
    expect(inChat.every((s) => s.exists)).toBe(true);
    for (let g = 1; g <= GUILDS; g++) {
      const owner = (g - 1) * USERS_PER_GUILD + 1;
      expect((await r.guild(g).get()).data()?.ownerId).toBe(owner);
      expect((await r.guildMember(g, owner).get()).data()?.role).toBe('owner');
    }
    // users/{u}/guilds mirrors guilds/{g}/members exactly.
    const members = (await cg('members').get()).docs.filter((d) => d.ref.parent.parent?.parent.id === 'guilds');
    const mirror = (await cg('guilds').get()).docs.filter((d) => d.ref.parent.parent !== null);
    const key = (g: number, u: number): string => `${g}/${u}`;
    expect(new Set(mirror.map((d) => key(Number(d.id), Number(d.ref.parent.parent?.id))))).toEqual(
      new Set(members.map((d) => key(Number(d.ref.parent.parent?.id), Number(d.id)))),
    );
    // The demo user owns guild 1, is in chat 1 and has money.
    expect((await r.guildMember(1, 1).get()).data()?.role).toBe('owner');
    expect((await r.chatMember(1, 1).get()).exists).toBe(true);
    expect((await r.wallet(1).get()).data()?.balance).toBeGreaterThan(0);
  });

  it('keeps memberCount equal to the members of each guild, and copies display names correctly', async () => {
    const r = refs(db);
    for (let g = 1; g <= GUILDS; g++) {
      const guild = (await r.guild(g).get()).data();
      const members = await r.guildMembers(g).get();
      expect(guild?.memberCount).toBe(members.size);
      expect(guild?.memberCount).toBe(await count(r.guildMembers(g)));
      for (const m of members.docs) expect(m.data().displayName).toBe((await r.user(m.data().userId).get()).data()?.displayName);
    }
  });

  it('keeps every wallet balance equal to the signed sum of its ledger', async () => {
    const r = refs(db);
    const sums = new Map<number, number>();
    for (const d of (await cg('ledger').get()).docs) {
      const e = d.data() as { userId: number; type: LedgerType; amount: number; jobId: number | null };
      expect(Number(d.ref.parent.parent?.id)).toBe(e.userId);
      expect(Number.isSafeInteger(e.amount) && e.amount > 0).toBe(true);
      expect(e.jobId !== null).toBe(['hold', 'release', 'reward'].includes(e.type));
      sums.set(e.userId, (sums.get(e.userId) ?? 0) + LEDGER_SIGN[e.type] * e.amount);
    }
    const wallets = (await r.wallets().get()).docs.map((d) => d.data());
    expect(wallets).toHaveLength(USERS);
    for (const w of wallets) {
      expect(w.balance).toBeGreaterThanOrEqual(0);
      expect(w.balance).toBe(sums.get(w.userId));
    }
  });

  it('escrows rewards: an open job holds its reward (with its owner\'s hold entry); other jobs hold nothing, completed ones were accepted', async () => {
    const r = refs(db);
    const holds = new Map<number, number>();
    for (const d of (await cg('ledger').where('type', '==', 'hold').get()).docs) {
      const e = d.data() as { userId: number; amount: number; jobId: number };
      holds.set(e.jobId, (holds.get(e.jobId) ?? 0) + e.amount);
      expect((await r.job(e.jobId).get()).data()?.ownerId).toBe(e.userId);
    }
    const jobs = (await r.jobs().get()).docs.map((d) => d.data());
    expect(new Set(jobs.map((j) => j.status))).toEqual(new Set(['open', 'closed', 'completed']));
    expect(jobs.filter((j) => j.ownerId === 1).length).toBeGreaterThanOrEqual(3);
    for (const j of jobs) {
      expect(j.held).toBe(j.status === 'open' ? j.reward : 0);
      expect(holds.get(j.id) ?? 0).toBe(j.held);
      expect(j.reward).toBeGreaterThanOrEqual(0);
      expect(j.assigneeId === null).toBe(j.status === 'open');
      expect(j.assigneeId).not.toBe(j.ownerId);
      expect(j.acceptedAt !== null).toBe(j.status === 'completed');
    }
  });

  it('keeps scores within bounds, messages from chat members, one unread notification per user, counters at the last ids', async () => {
    const r = refs(db);
    for (const type of BOARD_TYPES) {
      const scores = (await r.scores(type).get()).docs.map((d) => d.data());
      expect(scores).toHaveLength(USERS);
      for (const s of scores) expect(Number.isSafeInteger(s.score) && s.score >= 0 && s.score <= MAX_SCORE).toBe(true);
    }
    const members = new Set((await cg('members').get()).docs.filter((d) => d.ref.parent.parent?.parent.id === 'chats').map((d) => d.ref.path));
    for (const d of (await cg('messages').get()).docs) {
      const m = d.data() as { chatId: number; userId: number };
      expect(members.has(paths.chatMember(m.chatId, m.userId))).toBe(true);
    }
    expect(await count(cg('notifications').where('readAt', '==', null))).toBe(USERS);
    const counters = Object.fromEntries((await db.collection('counters').get()).docs.map((d) => [d.id, (d.data() as { last: number }).last]));
    const maxLedgerId = Math.max(...(await cg('ledger').get()).docs.map((d) => Number(d.id)));
    expect(counters).toEqual({
      users: USERS,
      guilds: GUILDS,
      jobs: USERS / 5,
      ledger: maxLedgerId,
      chats: CHATS,
      messages: CHATS * MESSAGES_PER_CHAT,
      notifications: USERS * 3,
    });
    expect((await r.seedMeta().get()).data()).toMatchObject({ status: 'done', users: USERS, demoAccount: true });
  });

  it('reports progress up to 100%, phase by phase', () => {
    const last = progress.at(-1);
    expect(last).toMatchObject({ phase: 'finish' });
    expect(last?.done).toBe(last?.total);
    const dones = progress.map((p) => p.done);
    expect([...dones].sort((a, b) => a - b)).toEqual(dones);
    expect(new Set(progress.map((p) => p.phase)).size).toBe(11);
  });

  // ----- The queries of docs/firestore.md, on the seeded data --------------------------------

  it('job board: page 2 by cursor (startAfter the last job of page 1), never offset', async () => {
    const all = (await refs(db).jobs().where('status', '==', 'open').get()).docs.map((d) => d.data());
    const expected = [...all].sort((a, b) => b.createdAt.toMillis() - a.createdAt.toMillis() || b.id - a.id);
    expect(expected.length).toBeGreaterThan(20);
    const page1 = (await bill.query('jobs', queries.jobBoard(db, 'open', 10))).docs.map((d) => d.data());
    const last = page1.at(-1) as JobDoc;
    const page2 = (await bill.query('jobs', queries.jobBoard(db, 'open', 10, { createdAt: last.createdAt, id: last.id }))).docs.map((d) => d.data());
    expect(page1.map((j) => j.id)).toEqual(expected.slice(0, 10).map((j) => j.id));
    expect(page2.map((j) => j.id)).toEqual(expected.slice(10, 20).map((j) => j.id));
    // Two pages of 10 bill 20 reads: nothing skipped is paid for.
    expect(bill.snapshot().jobs?.reads).toBe(20);
    expect(toIso(last.createdAt)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('leaderboard: top 10 by orderBy(score desc, userId asc), with names and no user reads; "ahead of" count is capped', async () => {
    const all = (await refs(db).scores('global').get()).docs.map((d) => d.data());
    const expected = [...all].sort((a, b) => b.score - a.score || a.userId - b.userId).slice(0, 10);
    const top = (await queries.topScores(db, 'global', 10).get()).docs.map((d) => d.data());
    expect(top.map((s) => [s.userId, s.score, s.displayName])).toEqual(expected.map((s) => [s.userId, s.score, s.displayName]));
    const lowest = [...all].sort((a, b) => a.score - b.score)[0];
    expect(await count(queries.scoresAbove(db, 'global', lowest?.score ?? 0, 100))).toBe(100);
    expect(await count(queries.scoresAbove(db, 'global', expected[0]?.score ?? 0, 100))).toBe(0);
  });

  it('chat: the latest 20 messages of a chat, newest first, and the next 20 by cursor', async () => {
    const all = (await refs(db).messages(1).get()).docs.map((d) => d.data());
    expect(all).toHaveLength(MESSAGES_PER_CHAT);
    const expected = [...all].sort((a, b) => b.createdAt.toMillis() - a.createdAt.toMillis() || b.id - a.id);
    const first = (await queries.latestMessages(db, 1, 20).get()).docs.map((d) => d.data());
    expect(first.map((m) => m.id)).toEqual(expected.slice(0, 20).map((m) => m.id));
    const last = first.at(-1);
    if (last === undefined) throw new Error('no messages');
    const next = (await queries.latestMessages(db, 1, 20, { createdAt: last.createdAt, id: last.id }).get()).docs.map((d) => d.data());
    expect(next.map((m) => m.id)).toEqual(expected.slice(20, 40).map((m) => m.id));
    // The membership of a chat for the access check: its members subcollection.
    const memberIds = (await refs(db).chatMembers(1).get()).docs.map((d) => d.data().userId).sort((a, b) => a - b);
    expect(memberIds.slice(0, USERS_PER_CHAT)).toEqual(Array.from({ length: USERS_PER_CHAT }, (_, i) => i + 1));
  });

  it('notifications: a user\'s latest, newest first, with the unread count from count()', async () => {
    const items = (await bill.query('notifications', queries.latestNotifications(db, 5, 50))).docs.map((d) => d.data());
    expect(items.map((n) => n.id)).toEqual([15, 14, 13]);
    expect(items.map((n) => n.readAt === null)).toEqual([true, false, false]);
    expect(await bill.count('notifications', queries.unreadNotifications(db, 5))).toBe(1);
    expect(bill.snapshot().notifications?.reads).toBe(3 + 1);
  });

  it('guilds: members oldest first, the most active guilds, the guilds of a user from the mirror', async () => {
    const members = (await queries.guildMembers(db, 2, 1000).get()).docs.map((d) => d.data());
    const sorted = [...members].sort((a: GuildMemberDoc, b: GuildMemberDoc) => a.joinedAt.toMillis() - b.joinedAt.toMillis() || a.userId - b.userId);
    expect(members.map((m) => m.userId)).toEqual(sorted.map((m) => m.userId));
    expect(members.length).toBe((await refs(db).guild(2).get()).data()?.memberCount);
    const top = (await queries.topGuilds(db, 3).get()).docs.map((d) => d.data());
    const all = (await refs(db).guilds().get()).docs.map((d) => d.data());
    expect(top.map((g) => g.id)).toEqual([...all].sort((a, b) => b.activityScore - a.activityScore || a.id - b.id).slice(0, 3).map((g) => g.id));
    const mine = (await refs(db).userGuilds(60).get()).docs.map((d) => d.data().guildId);
    expect(mine).toContain(2);
  });

  it('sessions: keyed by the token\'s SHA-256, the expired ones of a user by (userId, expiresAt)', async () => {
    const { db: sdb } = fresh();
    const r = refs(sdb);
    const at = (ms: number): Timestamp => Timestamp.fromMillis(now.getTime() + ms);
    const hash = (c: string): string => c.repeat(64);
    await r.session(hash('a')).create({ userId: 7, createdAt: at(-7_200_000), expiresAt: at(-3_600_000) });
    await r.session(hash('b')).create({ userId: 7, createdAt: at(-60_000), expiresAt: at(3_600_000) });
    await r.session(hash('c')).create({ userId: 8, createdAt: at(-7_200_000), expiresAt: at(-3_600_000) });
    const expired = await queries.expiredSessions(sdb, 7, at(0)).get();
    expect(expired.docs.map((d) => d.id)).toEqual([hash('a')]);
  });

  it('the documented write transactions keep the invariants: concurrent debits (wallet + ledger), a join (member + mirror + count)', async () => {
    const { db: pdb, bill: pbill } = fresh();
    await seedFirestore(pdb, pbill, { users: 60, throttling: false });
    const r = refs(pdb);
    const ledgerIds = new IdAllocator(pdb, pbill, 'wallets', 'ledger', 20);
    const start = (await r.wallet(7).get()).data()?.balance ?? 0;
    const amount = Math.ceil(start / 4);
    // Debit as docs/firestore.md says: id reserved first, then one transaction reads the wallet,
    // checks the balance, updates it and creates the ledger entry.
    const debit = async (): Promise<boolean> => {
      const id = await ledgerIds.nextId();
      return pbill.tx('wallets', async (tx) => {
        const wallet = (await tx.get(r.wallet(7))).data();
        if (wallet === undefined || wallet.balance < amount) return false;
        tx.update(r.wallet(7), { balance: wallet.balance - amount, updatedAt: Timestamp.now() });
        tx.create(r.ledgerEntry(7, id), { id, userId: 7, type: 'debit', amount, jobId: null, createdAt: Timestamp.now() });
        return true;
      });
    };
    const accepted = (await Promise.all(Array.from({ length: 8 }, debit))).filter(Boolean).length;
    expect(accepted).toBe(Math.floor(start / amount));
    const balance = (await r.wallet(7).get()).data()?.balance;
    expect(balance).toBe(start - accepted * amount);
    const ledgerSum = (await r.ledger(7).get()).docs.reduce((sum, d) => sum + LEDGER_SIGN[d.data().type] * d.data().amount, 0);
    expect(ledgerSum).toBe(balance);

    // Join: user 7 (guild 1) joins guild 2 unless already there.
    const before = (await r.guild(2).get()).data()?.memberCount ?? 0;
    const joined = await pbill.tx('guilds', async (tx) => {
      const guild = await tx.get(r.guild(2));
      const member = await tx.get(r.guildMember(2, 7));
      if (!guild.exists || member.exists) return false;
      const joinedAt = Timestamp.now();
      tx.create(r.guildMember(2, 7), { guildId: 2, userId: 7, displayName: 'x', role: 'member', joinedAt });
      tx.create(r.userGuild(7, 2), { guildId: 2, role: 'member', joinedAt });
      tx.update(r.guild(2), { memberCount: FieldValue.increment(1) });
      return true;
    });
    const after = (await r.guild(2).get()).data()?.memberCount;
    expect(after).toBe(before + (joined ? 1 : 0));
    expect(after).toBe(await count(r.guildMembers(2)));
    expect((await r.userGuilds(7).get()).docs.map((d) => d.data().guildId)).toEqual(expect.arrayContaining([1, 2]));
  });

  // ----- Refusals and variants (fresh projects) ------------------------------------------------

  it('refuses a second seed, writing nothing', async () => {
    const before = bill.snapshot().seed;
    const err: unknown = await seedFirestore(db, bill, { users: 10, throttling: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FirestoreSeedRefusedError);
    expect(err).toBeInstanceOf(SeedError);
    expect(err).toMatchObject({ code: 'E_DB_SEED', reason: 'not_empty' });
    expect(bill.snapshot().seed).toMatchObject({ writes: before?.writes, deletes: 0 });
    expect(await count(refs(db).users())).toBe(USERS);
  });

  it('of two seeds started together on an empty project, exactly one runs', async () => {
    const { db: pdb, bill: pbill } = fresh();
    const results = await Promise.allSettled([1, 2].map(() => seedFirestore(pdb, pbill, { users: 20, throttling: false })));
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((x) => x.status === 'rejected');
    expect(rejected?.reason).toBeInstanceOf(FirestoreSeedRefusedError);
    expect(await count(refs(pdb).users())).toBe(20);
  });

  it('rejects a nonsensical user count', async () => {
    const { db: pdb, bill: pbill } = fresh();
    for (const users of [0, 1.5, -3]) {
      await expect(seedFirestore(pdb, pbill, { users })).rejects.toMatchObject({ code: 'E_DB_SEED', reason: 'bad_options' });
    }
  });

  it('without the demo account, user 1 is an ordinary seeded user', async () => {
    const { db: pdb, bill: pbill } = fresh();
    await seedFirestore(pdb, pbill, { users: 10, demoAccount: false, throttling: false });
    const r = refs(pdb);
    expect((await r.userByEmail(DEMO_USER.email).get()).exists).toBe(false);
    const login = (await r.userByEmail('user1@example.com').get()).data();
    expect(login?.userId).toBe(1);
    expect(await verifyPassword(LOADTEST_PASSWORD, login?.passwordHash ?? '')).toBe(true);
    expect(await verifyPassword(DEMO_USER.password, login?.passwordHash ?? '')).toBe(false);
    for (const d of (await r.users().get()).docs) expect(d.data().bio).not.toMatch(/password|demo1234/i);
    expect((await r.seedMeta().get()).data()?.demoAccount).toBe(false);
  });

  it('seeds a single user: the demo account in guild 1 and chat 1, one job without assignee', async () => {
    const { db: pdb, bill: pbill } = fresh();
    const s = await seedFirestore(pdb, pbill, { users: 1, throttling: false });
    expect(s).toMatchObject({ users: 1, guilds: 1, chats: 1, wallets: 1, jobs: 1, guildMembers: 1, chatMembers: 1 });
    expect((await refs(pdb).job(1).get()).data()?.assigneeId).toBeNull();
  });

  it('is deterministic: the same user count and time give the same documents', async () => {
    const a = fresh();
    const b = fresh();
    await seedFirestore(a.db, a.bill, { users: 60, throttling: false, now });
    await seedFirestore(b.db, b.bill, { users: 60, throttling: false, now });
    for (const group of ['jobs', 'ledger', 'scores', 'members', 'messages']) {
      const dump = async (fdb: Firestore): Promise<Array<[string, DocumentData]>> =>
        (await fdb.collectionGroup(group).get()).docs.map((d): [string, DocumentData] => [d.ref.path, d.data()]).sort((x, y) => x[0].localeCompare(y[0]));
      expect(await dump(b.db)).toEqual(await dump(a.db));
    }
    const users = async (fdb: Firestore): Promise<unknown[]> => (await refs(fdb).users().orderBy('id').get()).docs.map((d) => d.data());
    expect(await users(b.db)).toEqual(await users(a.db));
  });

  it('ids continue after the seed: blocks from counters/{name}, unique under concurrency', async () => {
    const { db: pdb, bill: pbill } = fresh();
    await seedFirestore(pdb, pbill, { users: 20, throttling: false });
    expect(await reserveIds(pdb, pbill, 'chat', 'messages', 10)).toBe(Math.ceil(20 / USERS_PER_CHAT) * MESSAGES_PER_CHAT + 1);
    const alloc = new IdAllocator(pdb, pbill, 'chat', 'users', 5);
    const other = new IdAllocator(pdb, pbill, 'chat', 'users', 5);
    const ids = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? alloc : other).nextId()));
    expect(new Set(ids).size).toBe(24);
    expect(Math.min(...ids)).toBe(21);
    // 24 ids in blocks of 5: 3 blocks per allocator (12 ids each), so 6 reservations.
    expect(((await refs(pdb).counter('users').get()).data()?.last ?? 0) - 20).toBe(30);
  });
});
