/**
 * Bulk seed of the Firestore data model (model.ts, docs/firestore.md): the same data set as the
 * SQL seed (src/app/db/seed.ts) in structure — ids, emails, passwords, memberships, ownerships,
 * counts — with its own random values, which respect every invariant of the SQL seed:
 *
 *  - user N is `user{N}@example.com` with LOADTEST_PASSWORD; user 1 is DEMO_USER when
 *    `demoAccount` (default true), else `user1@example.com`;
 *  - user u belongs to guild ceil(u/50) (the block's first user owns it, the next two are
 *    officers) and chat ceil(u/20); one in five also joins a second guild, one in ten a second
 *    chat; `memberCount` = members;
 *  - max(1, round(0.2 u)) jobs, the first three owned by user 1; about half open (holding their
 *    whole reward), a quarter closed, a quarter completed (assignee ≠ owner, accepted);
 *  - one wallet per user with 3 ledger entries (credit 1000, a credit, a debit) plus, for each
 *    open job it owns, the operator's admin_credit of the reward and the job's hold: balance =
 *    signed sum of the ledger;
 *  - 40 messages per chat from the chat's own members, 3 notifications per user (the newest
 *    unread), a `global` and a `weekly` score per user within [0, MAX_SCORE];
 *  - `counters/{name}` set to the highest id written, so the app's ids continue after the seed.
 *
 * Every write goes through one BulkWriter billed under the `seed` domain. Deterministic: the
 * values come from a seeded PRNG (one stream per phase) and times are relative to `now`.
 *
 * Not transactional (Firestore has no multi-million-document transaction): a seed that fails
 * half-way leaves a partial data set and `meta/seed` in status `running`; clear the project and
 * run it again. A second seed, concurrent or later, finds users or `meta/seed` and refuses.
 */
import { Timestamp, type BulkWriterOptions, type DocumentData, type DocumentReference, type Firestore, type WithFieldValue } from '@google-cloud/firestore';
import { MAX_SCORE } from '../../bounds.ts';
import { SeedError } from '../errors.ts';
import { hashPassword } from '../passwords.ts';
import { DEMO_USER, LOADTEST_PASSWORD, USERS_PER_CHAT, USERS_PER_GUILD, type SeedPhase } from '../seed.ts';
import type { Bill, BilledBulkWriter } from './bill.ts';
import { ADJECTIVES, at, BIOS, chatOf, DAY_MS, FIRST_NAMES, guildOf, JOB_TITLES, LAST_NAMES, makePlan, MESSAGES, NOTIFICATIONS, NOUNS, pick, plannedCounts, roleOf, SEEDED_COLLECTIONS, streamFor, type FirestoreSeedSummary, type Plan, type SeededCollection } from './seed-plan.ts';
import { BOARD_TYPES, LEDGER_SIGN, refs, type GuildRole, type IdCounter, type LedgerType, type Refs } from './model.ts';

/** The bill domain every seed read and write is counted under. */
export const SEED_DOMAIN = 'seed';

export { JOBS_PER_USER, SEEDED_COLLECTIONS, type FirestoreSeedSummary, type SeededCollection } from './seed-plan.ts';

export interface FirestoreSeedProgress {
  phase: SeedPhase;
  /** Documents written so far. */
  done: number;
  /** Documents the whole seed writes. */
  total: number;
}

export interface FirestoreSeedOptions {
  /** Users to create, the demo user included (integer >= 1). */
  users: number;
  /** User 1 is DEMO_USER (published password). Default true; never on a production project. */
  demoAccount?: boolean;
  /** Called every `progressEvery` documents and at the end of each phase. */
  onProgress?: (progress: FirestoreSeedProgress) => void;
  /** Default 1,000. */
  progressEvery?: number;
  /**
   * BulkWriter throttling. Default: the client's own (starts at 500 writes/s, +50% every 5 min:
   * Google's "500/50/5" ramp-up for a new collection on a real project). `false` on the
   * emulator, where there is nothing to ramp up.
   */
  throttling?: BulkWriterOptions['throttling'];
  /** Writes between two flushes (bounds the memory of a 100K-user seed). Default 5,000. */
  window?: number;
  /** Reference time of the data set. Default: now. */
  now?: Date;
}

/** Why a seed was refused. */
export type SeedRefusal = 'bad_options' | 'not_empty' | 'already_seeding';

/**
 * The seed was refused before it wrote any data. Code `E_DB_SEED`, as on SQL (it is a
 * SeedError), so callers handle both databases alike; `reason` says why.
 */
export class FirestoreSeedRefusedError extends SeedError {
  constructor(
    message: string,
    readonly reason: SeedRefusal,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** Creates through the billed BulkWriter, flushing every `window` writes; remembers the first failure. */
class Sink {
  readonly written: FirestoreSeedSummary = Object.fromEntries(SEEDED_COLLECTIONS.map((c) => [c, 0])) as FirestoreSeedSummary;
  private done = 0;
  private queued = 0;
  private failure: unknown;
  phase: SeedPhase = 'users';

  constructor(
    private readonly writer: BilledBulkWriter,
    private readonly total: number,
    private readonly window: number,
    private readonly progressEvery: number,
    private readonly onProgress: ((p: FirestoreSeedProgress) => void) | undefined,
  ) {}

  async create<T extends DocumentData>(collection: SeededCollection, ref: DocumentReference<T, DocumentData>, data: WithFieldValue<T>): Promise<void> {
    this.writer.create(ref, data).then(
      () => {
        this.written[collection]++;
        this.done++;
        if (this.done % this.progressEvery === 0) this.onProgress?.({ phase: this.phase, done: this.done, total: this.total });
      },
      (err: unknown) => {
        this.failure ??= err;
      },
    );
    if (++this.queued >= this.window) await this.flush();
  }

  async flush(): Promise<void> {
    this.queued = 0;
    await this.writer.flush();
    // The write callbacks run before flush() resolves.
    if (this.failure !== undefined) throw new SeedError(`seed write failed: ${this.failure instanceof Error ? this.failure.message : 'unknown error'}`, { cause: this.failure });
  }

  async endPhase(): Promise<void> {
    await this.flush();
    this.onProgress?.({ phase: this.phase, done: this.done, total: this.total });
  }
}

function displayNameOf(u: number, demo: boolean): string {
  if (u === DEMO_USER.id) return demo ? DEMO_USER.displayName : 'Ada Lovelace';
  return `${at(FIRST_NAMES, u % 20)} ${at(LAST_NAMES, Math.floor(u / 20) % 20)}`;
}

async function writeAll(sink: Sink, r: Refs, p: Plan, demo: boolean, hashes: { demo: string; loadtest: string }, nowMs: number): Promise<Record<IdCounter, number>> {
  const ts = (ms: number): Timestamp => Timestamp.fromMillis(Math.floor(ms));
  const U = p.users;

  sink.phase = 'users';
  const ru = streamFor('users');
  for (let u = 1; u <= U; u++) {
    const isDemo = u === DEMO_USER.id && demo;
    const createdAtMs = u === 1 ? nowMs - 730 * DAY_MS : nowMs - ru() * 730 * DAY_MS;
    const bio = u === 1 ? (demo ? 'The demo account.' : 'Backend developer. Coffee first.') : ru() < 0.3 ? '' : pick(BIOS, ru);
    const avatar = u === 1 || ru() >= 0.2 ? `https://avatars.example.com/u/${u}.png` : null;
    const email = isDemo ? DEMO_USER.email : `user${u}@example.com`;
    await sink.create('users', r.user(u), {
      id: u,
      email,
      displayName: displayNameOf(u, demo),
      bio,
      avatarUrl: avatar,
      createdAt: ts(createdAtMs),
      updatedAt: ts(createdAtMs + ru() * (nowMs - createdAtMs)),
    });
    await sink.create('usersByEmail', r.userByEmail(email), { userId: u, passwordHash: isDemo ? hashes.demo : hashes.loadtest });
  }
  await sink.endPhase();

  sink.phase = 'guilds';
  const rg = streamFor('guilds');
  for (let g = 1; g <= p.guilds; g++) {
    await sink.create('guilds', r.guild(g), {
      id: g,
      name: `${at(ADJECTIVES, g % 10)} ${at(NOUNS, Math.floor(g / 10) % 10)} ${g}`,
      description: `Guild number ${g}. All welcome.`,
      ownerId: (g - 1) * USERS_PER_GUILD + 1,
      memberCount: p.memberCount[g] ?? 0,
      activityScore: Math.floor(rg() ** 2 * 100_000),
      createdAt: ts(nowMs - rg() * 700 * DAY_MS),
    });
  }
  await sink.endPhase();

  sink.phase = 'guild_members';
  const rm = streamFor('guild_members');
  for (let u = 1; u <= U; u++) {
    const name = displayNameOf(u, demo);
    const memberships: Array<{ guildId: number; role: GuildRole; joinedAt: Timestamp }> = [
      { guildId: guildOf(u), role: roleOf(u), joinedAt: ts(nowMs - rm() * 600 * DAY_MS) },
    ];
    const second = p.secondGuild[u] ?? 0;
    if (second !== 0) memberships.push({ guildId: second, role: 'member', joinedAt: ts(nowMs - rm() * 300 * DAY_MS) });
    for (const m of memberships) {
      await sink.create('guildMembers', r.guildMember(m.guildId, u), { guildId: m.guildId, userId: u, displayName: name, role: m.role, joinedAt: m.joinedAt });
      await sink.create('userGuilds', r.userGuild(u, m.guildId), { guildId: m.guildId, role: m.role, joinedAt: m.joinedAt });
    }
  }
  await sink.endPhase();

  sink.phase = 'jobs';
  const rj = streamFor('jobs');
  for (const j of p.jobs) {
    await sink.create('jobs', r.job(j.id), {
      id: j.id,
      ownerId: j.ownerId,
      title: pick(JOB_TITLES, rj),
      description: `Details for job ${j.id}.`,
      status: j.status,
      reward: j.reward,
      held: j.status === 'open' ? j.reward : 0,
      assigneeId: j.assigneeId,
      acceptedAt: j.status === 'completed' && j.assigneeId !== null ? ts(j.createdAtMs + (j.updatedAtMs - j.createdAtMs) / 2) : null,
      createdAt: ts(j.createdAtMs),
      updatedAt: ts(j.updatedAtMs),
    });
  }
  await sink.endPhase();

  sink.phase = 'wallets';
  const rw = streamFor('wallets');
  let lastLedgerId = 0;
  for (let u = 1; u <= U; u++) {
    // 1000 signup credit + a credit - a debit of at most half of both: positive, = sum of the ledger.
    const c2 = 1 + Math.floor(rw() * 5000);
    const d3 = 1 + Math.floor(rw() * Math.floor((1000 + c2) / 2));
    const t0 = nowMs - DAY_MS * (30 + rw() * 300);
    const entries: Array<{ id: number; type: LedgerType; amount: number; jobId: number | null; atMs: number }> = [
      { id: (u - 1) * 3 + 1, type: 'credit', amount: 1000, jobId: null, atMs: t0 },
      { id: (u - 1) * 3 + 2, type: 'credit', amount: c2, jobId: null, atMs: t0 + 10 * DAY_MS },
      { id: (u - 1) * 3 + 3, type: 'debit', amount: d3, jobId: null, atMs: t0 + 20 * DAY_MS },
    ];
    // Each open job was funded by an operator credit of its reward, then held.
    for (const j of p.openJobsByOwner.get(u) ?? []) {
      entries.push({ id: U * 3 + (j.id - 1) * 2 + 1, type: 'admin_credit', amount: j.reward, jobId: null, atMs: j.createdAtMs - 60_000 });
      entries.push({ id: U * 3 + (j.id - 1) * 2 + 2, type: 'hold', amount: j.reward, jobId: j.id, atMs: j.createdAtMs });
    }
    const balance = entries.reduce((sum, e) => sum + LEDGER_SIGN[e.type] * e.amount, 0);
    await sink.create('wallets', r.wallet(u), { userId: u, balance, updatedAt: ts(Math.max(t0 + 20 * DAY_MS, ...entries.map((e) => e.atMs))) });
    for (const e of entries) {
      lastLedgerId = Math.max(lastLedgerId, e.id);
      await sink.create('ledger', r.ledgerEntry(u, e.id), { id: e.id, userId: u, type: e.type, amount: e.amount, jobId: e.jobId, createdAt: ts(e.atMs) });
    }
  }
  await sink.endPhase();

  sink.phase = 'chats';
  const rc = streamFor('chats');
  for (let c = 1; c <= p.chats; c++) {
    await sink.create('chats', r.chat(c), { id: c, name: c === 1 ? 'General' : `${at(NOUNS, c % 10)} chat ${c}`, createdAt: ts(nowMs - rc() * 500 * DAY_MS) });
  }
  await sink.endPhase();

  sink.phase = 'chat_members';
  const rcm = streamFor('chat_members');
  for (let u = 1; u <= U; u++) {
    await sink.create('chatMembers', r.chatMember(chatOf(u), u), { chatId: chatOf(u), userId: u, joinedAt: ts(nowMs - rcm() * 400 * DAY_MS) });
    const second = p.secondChat[u] ?? 0;
    if (second !== 0) await sink.create('chatMembers', r.chatMember(second, u), { chatId: second, userId: u, joinedAt: ts(nowMs - rcm() * 200 * DAY_MS) });
  }
  await sink.endPhase();

  sink.phase = 'chat_messages';
  const rmsg = streamFor('chat_messages');
  for (let m = 1; m <= p.messages; m++) {
    // Message m goes to chat (m - 1) % C + 1, from a user of that chat's own block (a member),
    // 15 s after message m - 1: id order is time order within the seed.
    const chatId = ((m - 1) % p.chats) + 1;
    const userId = Math.min(U, (chatId - 1) * USERS_PER_CHAT + 1 + Math.floor(rmsg() * USERS_PER_CHAT));
    await sink.create('messages', r.message(chatId, m), { id: m, chatId, userId, body: pick(MESSAGES, rmsg), createdAt: ts(nowMs - (p.messages - m) * 15_000) });
  }
  await sink.endPhase();

  sink.phase = 'notifications';
  const rn = streamFor('notifications');
  for (let u = 1; u <= U; u++) {
    // Three per user, one day apart; the newest is unread.
    for (let k = 1; k <= 3; k++) {
      const createdAtMs = nowMs - (3 - k) * DAY_MS - rn() * 12 * 3_600_000;
      const id = (u - 1) * 3 + k;
      await sink.create('notifications', r.notification(u, id), {
        id,
        userId: u,
        body: pick(NOTIFICATIONS, rn),
        readAt: k < 3 ? ts(createdAtMs + 3_600_000) : null,
        createdAt: ts(createdAtMs),
      });
    }
  }
  await sink.endPhase();

  sink.phase = 'scores';
  const rs = streamFor('scores');
  for (let u = 1; u <= U; u++) {
    const name = displayNameOf(u, demo);
    for (const type of BOARD_TYPES) {
      // Cubed random on the global board: a long tail of low scores and a few high ones.
      const score = Math.min(MAX_SCORE, type === 'global' ? Math.floor(rs() ** 3 * 1_000_000) : Math.floor(rs() * 10_000));
      await sink.create('scores', r.score(type, u), { type, userId: u, displayName: name, score, updatedAt: ts(nowMs - rs() * 7 * DAY_MS) });
    }
  }
  await sink.endPhase();

  return { users: U, guilds: p.guilds, jobs: p.jobs.length, ledger: lastLedgerId, chats: p.chats, messages: p.messages, notifications: U * 3 };
}

/**
 * Fills an empty Firestore project. Refuses (FirestoreSeedRefusedError, code E_DB_SEED, nothing
 * written) when `users` already holds a document or another seed created `meta/seed`. Returns
 * the documents written per collection.
 */
export async function seedFirestore<Domain extends string>(
  db: Firestore,
  bill: Bill<Domain | typeof SEED_DOMAIN>,
  opts: FirestoreSeedOptions,
): Promise<FirestoreSeedSummary> {
  const { users } = opts;
  const demo = opts.demoAccount ?? true;
  const window = opts.window ?? 5_000;
  const progressEvery = opts.progressEvery ?? 1_000;
  if (!Number.isSafeInteger(users) || users < 1) throw new FirestoreSeedRefusedError(`users must be an integer >= 1, got ${users}`, 'bad_options');
  if (!Number.isSafeInteger(window) || window < 1) throw new FirestoreSeedRefusedError(`window must be an integer >= 1, got ${window}`, 'bad_options');
  if (!Number.isSafeInteger(progressEvery) || progressEvery < 1) {
    throw new FirestoreSeedRefusedError(`progressEvery must be an integer >= 1, got ${progressEvery}`, 'bad_options');
  }
  const r = refs(db);

  const existing = await bill.query(SEED_DOMAIN, r.users().limit(1));
  if (!existing.empty) throw new FirestoreSeedRefusedError('the project already has users: clear it first', 'not_empty');
  const nowMs = (opts.now ?? new Date()).getTime();
  // Create-only: of two seeds started together, exactly one gets past this line.
  try {
    await bill.write(SEED_DOMAIN).create(r.seedMeta(), { status: 'running', users, demoAccount: demo, startedAt: Timestamp.fromMillis(nowMs), finishedAt: null });
  } catch (err) {
    if ((err as { code?: unknown }).code === 6) {
      throw new FirestoreSeedRefusedError('another seed has already run or is running on this project (meta/seed exists)', 'already_seeding');
    }
    throw new SeedError(`could not start the seed: ${err instanceof Error ? err.message : 'unknown error'}`, { cause: err });
  }

  // One scrypt hash per password for the whole data set, as the SQL seed does.
  const [demoHash, loadtestHash] = await Promise.all([demo ? hashPassword(DEMO_USER.password) : Promise.resolve(''), hashPassword(LOADTEST_PASSWORD)]);
  const plan = makePlan(users, nowMs);
  const planned = plannedCounts(plan);
  const total = SEEDED_COLLECTIONS.reduce((sum, c) => sum + planned[c], 0);

  const writer = bill.bulkWriter(SEED_DOMAIN, opts.throttling === undefined ? {} : { throttling: opts.throttling });
  const sink = new Sink(writer, total, window, progressEvery, opts.onProgress);
  try {
    const lastIds = await writeAll(sink, r, plan, demo, { demo: demoHash, loadtest: loadtestHash }, nowMs);
    sink.phase = 'finish';
    for (const [name, last] of Object.entries(lastIds) as Array<[IdCounter, number]>) await sink.create('counters', r.counter(name), { last });
    await sink.endPhase();
  } finally {
    await writer.close().catch(() => undefined);
  }
  await bill.write(SEED_DOMAIN).update(r.seedMeta(), { status: 'done', finishedAt: Timestamp.now() });
  return { ...sink.written };
}
