/**
 * The Firestore data model of the reference backend: collection names, document paths and
 * document types, shared by the seed and the per-domain Firestore adapters. docs/firestore.md
 * explains every choice (billing, limits, indexes); firestore.indexes.json holds the composite
 * indexes the queries below need.
 *
 * Conventions:
 *  - Integer ids (users, guilds, jobs, chats, messages, ledger rows, notifications) are
 *    positive safe integers. The document id is the decimal string, and the same number is
 *    stored in the document (`id`, `userId`...) so that queries can order and tie-break on it.
 *    New ids come in blocks from `counters/{name}` (see ids.ts).
 *  - Times are Firestore `Timestamp`s (ordered, TTL-able, microsecond precision); adapters turn
 *    them into ISO strings at the port boundary (`toIso`).
 *  - Amounts, balances and scores are integers within src/app/bounds.ts (below 2^53).
 *  - Names shown next to other documents (`displayName` in guild members and scores) are
 *    copies, rewritten by the profile edit in the same transaction, so that a member list or
 *    a leaderboard is one query and never a query plus N user reads.
 */
import type {
  CollectionReference,
  DocumentData,
  DocumentReference,
  Firestore,
  FirestoreDataConverter,
  QueryDocumentSnapshot,
  Timestamp,
} from '@google-cloud/firestore';
import type { Guild, GuildRole } from '../../guilds/guilds.data.ts';
import type { Job, JobStatus } from '../../jobs/jobs.data.ts';
import type { LedgerType } from '../../wallets/wallets.data.ts';

/** Top-level collections and subcollection ids. Subcollection ids are collection-group names. */
export const COLLECTIONS = {
  users: 'users',
  usersByEmail: 'usersByEmail',
  sessions: 'sessions',
  guilds: 'guilds',
  /** `guilds/{id}/members` and `chats/{id}/members`: one collection-group name, two parents. */
  members: 'members',
  /** `users/{id}/guilds`: the user's memberships, mirrored from `guilds/{id}/members`. */
  userGuilds: 'guilds',
  jobs: 'jobs',
  wallets: 'wallets',
  ledger: 'ledger',
  chats: 'chats',
  messages: 'messages',
  notifications: 'notifications',
  leaderboards: 'leaderboards',
  scores: 'scores',
  counters: 'counters',
  meta: 'meta',
} as const;

// ---------------------------------------------------------------------------------------------
// Enumerations (mirrors of the SQL CHECK constraints, migrations 001 and 003)
// ---------------------------------------------------------------------------------------------

export type { GuildRole };

// Job statuses and ledger types are the domain's (the ports), shared with the SQL adapter.
export { JOB_STATUSES } from '../../jobs/jobs.data.ts';
export type { JobStatus, LedgerType };
export { LEDGER_SIGN } from '../../wallets/wallets.rules.ts';

/** Ledger types that belong to a job (`jobId` set), and only those. */
export const JOB_LEDGER_TYPES: ReadonlySet<LedgerType> = new Set<LedgerType>(['hold', 'release', 'reward']);

/** The boards the backend serves (leaderboards.service.ts). */
export const BOARD_TYPES = ['global', 'weekly'] as const;
export type BoardType = (typeof BOARD_TYPES)[number];

/** Counters that hand out integer ids: one document `counters/{name}` each. */
export const ID_COUNTERS = ['users', 'guilds', 'jobs', 'ledger', 'chats', 'messages', 'notifications'] as const;
export type IdCounter = (typeof ID_COUNTERS)[number];

// ---------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------

/** `users/{id}`: the public profile and the (lower-case) email. Never the password hash. */
export interface UserDoc {
  id: number;
  email: string;
  displayName: string;
  bio: string;
  avatarUrl: string | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/**
 * `usersByEmail/{emailKey(email)}`: the log-in record. Created with `create()` in the same
 * transaction as the user, so a taken email fails the whole sign-up (unique email); a log-in
 * is one document read.
 */
export interface EmailDoc {
  userId: number;
  passwordHash: string;
}

/** `sessions/{sha256 hex of the token}`. `expiresAt` carries the TTL policy. */
export interface SessionDoc {
  userId: number;
  createdAt: Timestamp;
  expiresAt: Timestamp;
}

/** `guilds/{id}`. `memberCount` is kept exact by the join / leave transactions. */
export interface GuildDoc extends Omit<Guild, 'createdAt'> {
  createdAt: Timestamp;
}

/** `guilds/{guildId}/members/{userId}`. */
export interface GuildMemberDoc {
  guildId: number;
  userId: number;
  /** Copy of `users/{userId}.displayName`. */
  displayName: string;
  role: GuildRole;
  joinedAt: Timestamp;
}

/** `users/{userId}/guilds/{guildId}`: mirror of a guild membership ("guilds of a user"). */
export interface UserGuildDoc {
  guildId: number;
  role: GuildRole;
  joinedAt: Timestamp;
}

/** `jobs/{id}`. `held` is the escrowed reward (0 unless open). */
export interface JobDoc extends Omit<Job, 'acceptedAt' | 'createdAt' | 'updatedAt'> {
  acceptedAt: Timestamp | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** `wallets/{userId}`: balance = signed sum of `wallets/{userId}/ledger`. */
export interface WalletDoc {
  userId: number;
  balance: number;
  updatedAt: Timestamp;
}

/** `wallets/{userId}/ledger/{id}`: written in the same transaction as the balance it moves. */
export interface LedgerDoc {
  id: number;
  userId: number;
  type: LedgerType;
  /** 1 .. 10^15, always positive: the sign comes from `type`. */
  amount: number;
  /** The job of a hold / release / reward; null otherwise. */
  jobId: number | null;
  createdAt: Timestamp;
}

/** `chats/{id}`. */
export interface ChatDoc {
  id: number;
  name: string;
  createdAt: Timestamp;
}

/** `chats/{chatId}/members/{userId}`. */
export interface ChatMemberDoc {
  chatId: number;
  userId: number;
  joinedAt: Timestamp;
}

/** `chats/{chatId}/messages/{id}`. */
export interface MessageDoc {
  id: number;
  chatId: number;
  userId: number;
  body: string;
  createdAt: Timestamp;
}

/** `users/{userId}/notifications/{id}`. Unread ⇔ `readAt == null` (the field is always present). */
export interface NotificationDoc {
  id: number;
  userId: number;
  body: string;
  readAt: Timestamp | null;
  createdAt: Timestamp;
}

/** `leaderboards/{type}/scores/{userId}`. */
export interface ScoreDoc {
  type: BoardType;
  userId: number;
  /** Copy of `users/{userId}.displayName`. */
  displayName: string;
  /** 0 .. 10^15. */
  score: number;
  updatedAt: Timestamp;
}

/** `counters/{name}`: the highest id handed out (or reserved) so far. */
export interface CounterDoc {
  last: number;
}

/** `meta/seed`: created (create-only) when a seed starts; a second seed sees it and refuses. */
export interface SeedMetaDoc {
  status: 'running' | 'done';
  users: number;
  demoAccount: boolean;
  startedAt: Timestamp;
  finishedAt: Timestamp | null;
}

// ---------------------------------------------------------------------------------------------
// Paths and typed references
// ---------------------------------------------------------------------------------------------

/** Throws unless `id` can be a document id of an integer-keyed collection. */
export function idOf(id: number): string {
  if (!Number.isSafeInteger(id) || id < 1) throw new RangeError(`ids are positive safe integers, got ${id}`);
  return String(id);
}

/** The number a document id stands for, or undefined when it is not a canonical positive integer. */
export function parseId(docId: string): number | undefined {
  if (!/^[1-9][0-9]{0,15}$/.test(docId)) return undefined;
  const n = Number(docId);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Document id of an email: the lower-cased address, URI-encoded, so that any address is a
 * valid id (no `/`, never `.` or `..`) and the mapping is reversible.
 */
export function emailKey(email: string): string {
  return encodeURIComponent(email.trim().toLowerCase());
}

/** String paths, for logs, the doc and the emulator's REST API. */
export const paths = {
  user: (id: number) => `users/${idOf(id)}`,
  userByEmail: (email: string) => `usersByEmail/${emailKey(email)}`,
  session: (tokenHash: string) => `sessions/${tokenHash}`,
  guild: (id: number) => `guilds/${idOf(id)}`,
  guildMember: (guildId: number, userId: number) => `guilds/${idOf(guildId)}/members/${idOf(userId)}`,
  userGuild: (userId: number, guildId: number) => `users/${idOf(userId)}/guilds/${idOf(guildId)}`,
  job: (id: number) => `jobs/${idOf(id)}`,
  wallet: (userId: number) => `wallets/${idOf(userId)}`,
  ledgerEntry: (userId: number, id: number) => `wallets/${idOf(userId)}/ledger/${idOf(id)}`,
  chat: (id: number) => `chats/${idOf(id)}`,
  chatMember: (chatId: number, userId: number) => `chats/${idOf(chatId)}/members/${idOf(userId)}`,
  message: (chatId: number, id: number) => `chats/${idOf(chatId)}/messages/${idOf(id)}`,
  notification: (userId: number, id: number) => `users/${idOf(userId)}/notifications/${idOf(id)}`,
  score: (type: BoardType, userId: number) => `leaderboards/${type}/scores/${idOf(userId)}`,
  counter: (name: IdCounter) => `counters/${name}`,
  seedMeta: () => 'meta/seed',
} as const;

/**
 * Pass-through converter: types the data of a reference without changing it. Firestore does not
 * validate documents; these types are the contract between the seed and the adapters.
 */
function typed<T extends DocumentData>(): FirestoreDataConverter<T, DocumentData> {
  return {
    toFirestore: (data) => data,
    fromFirestore: (snap: QueryDocumentSnapshot) => snap.data() as T,
  };
}

const conv = {
  user: typed<UserDoc>(),
  email: typed<EmailDoc>(),
  session: typed<SessionDoc>(),
  guild: typed<GuildDoc>(),
  guildMember: typed<GuildMemberDoc>(),
  userGuild: typed<UserGuildDoc>(),
  job: typed<JobDoc>(),
  wallet: typed<WalletDoc>(),
  ledger: typed<LedgerDoc>(),
  chat: typed<ChatDoc>(),
  chatMember: typed<ChatMemberDoc>(),
  message: typed<MessageDoc>(),
  notification: typed<NotificationDoc>(),
  score: typed<ScoreDoc>(),
  counter: typed<CounterDoc>(),
  seedMeta: typed<SeedMetaDoc>(),
};

type Doc<T extends DocumentData> = DocumentReference<T, DocumentData>;
type Col<T extends DocumentData> = CollectionReference<T, DocumentData>;

/** Typed references on one client: `refs(db).wallet(7)`, `refs(db).messages(3)`. */
export function refs(db: Firestore) {
  return {
    users: (): Col<UserDoc> => db.collection(COLLECTIONS.users).withConverter(conv.user),
    user: (id: number): Doc<UserDoc> => db.doc(paths.user(id)).withConverter(conv.user),
    usersByEmail: (): Col<EmailDoc> => db.collection(COLLECTIONS.usersByEmail).withConverter(conv.email),
    userByEmail: (email: string): Doc<EmailDoc> => db.doc(paths.userByEmail(email)).withConverter(conv.email),
    sessions: (): Col<SessionDoc> => db.collection(COLLECTIONS.sessions).withConverter(conv.session),
    session: (tokenHash: string): Doc<SessionDoc> => db.doc(paths.session(tokenHash)).withConverter(conv.session),
    guilds: (): Col<GuildDoc> => db.collection(COLLECTIONS.guilds).withConverter(conv.guild),
    guild: (id: number): Doc<GuildDoc> => db.doc(paths.guild(id)).withConverter(conv.guild),
    guildMembers: (guildId: number): Col<GuildMemberDoc> =>
      db.collection(`${paths.guild(guildId)}/${COLLECTIONS.members}`).withConverter(conv.guildMember),
    guildMember: (guildId: number, userId: number): Doc<GuildMemberDoc> => db.doc(paths.guildMember(guildId, userId)).withConverter(conv.guildMember),
    userGuilds: (userId: number): Col<UserGuildDoc> => db.collection(`${paths.user(userId)}/${COLLECTIONS.userGuilds}`).withConverter(conv.userGuild),
    userGuild: (userId: number, guildId: number): Doc<UserGuildDoc> => db.doc(paths.userGuild(userId, guildId)).withConverter(conv.userGuild),
    jobs: (): Col<JobDoc> => db.collection(COLLECTIONS.jobs).withConverter(conv.job),
    job: (id: number): Doc<JobDoc> => db.doc(paths.job(id)).withConverter(conv.job),
    wallets: (): Col<WalletDoc> => db.collection(COLLECTIONS.wallets).withConverter(conv.wallet),
    wallet: (userId: number): Doc<WalletDoc> => db.doc(paths.wallet(userId)).withConverter(conv.wallet),
    ledger: (userId: number): Col<LedgerDoc> => db.collection(`${paths.wallet(userId)}/${COLLECTIONS.ledger}`).withConverter(conv.ledger),
    ledgerEntry: (userId: number, id: number): Doc<LedgerDoc> => db.doc(paths.ledgerEntry(userId, id)).withConverter(conv.ledger),
    chats: (): Col<ChatDoc> => db.collection(COLLECTIONS.chats).withConverter(conv.chat),
    chat: (id: number): Doc<ChatDoc> => db.doc(paths.chat(id)).withConverter(conv.chat),
    chatMembers: (chatId: number): Col<ChatMemberDoc> => db.collection(`${paths.chat(chatId)}/${COLLECTIONS.members}`).withConverter(conv.chatMember),
    chatMember: (chatId: number, userId: number): Doc<ChatMemberDoc> => db.doc(paths.chatMember(chatId, userId)).withConverter(conv.chatMember),
    messages: (chatId: number): Col<MessageDoc> => db.collection(`${paths.chat(chatId)}/${COLLECTIONS.messages}`).withConverter(conv.message),
    message: (chatId: number, id: number): Doc<MessageDoc> => db.doc(paths.message(chatId, id)).withConverter(conv.message),
    notifications: (userId: number): Col<NotificationDoc> =>
      db.collection(`${paths.user(userId)}/${COLLECTIONS.notifications}`).withConverter(conv.notification),
    notification: (userId: number, id: number): Doc<NotificationDoc> => db.doc(paths.notification(userId, id)).withConverter(conv.notification),
    scores: (type: BoardType): Col<ScoreDoc> => db.collection(`${COLLECTIONS.leaderboards}/${type}/${COLLECTIONS.scores}`).withConverter(conv.score),
    score: (type: BoardType, userId: number): Doc<ScoreDoc> => db.doc(paths.score(type, userId)).withConverter(conv.score),
    counter: (name: IdCounter): Doc<CounterDoc> => db.doc(paths.counter(name)).withConverter(conv.counter),
    seedMeta: (): Doc<SeedMetaDoc> => db.doc(paths.seedMeta()).withConverter(conv.seedMeta),
  };
}

export type Refs = ReturnType<typeof refs>;

/** ISO 8601 of a stored time, as the HTTP API shows it (same format as the SQL adapters). */
export function toIso(t: Timestamp): string {
  return t.toDate().toISOString();
}

// ---------------------------------------------------------------------------------------------
// The queries of the model (docs/firestore.md, "Queries"), shared so tests exercise exactly these
// ---------------------------------------------------------------------------------------------

/** Cursor of the job board: the last job of the previous page. */
export interface JobCursor {
  createdAt: Timestamp;
  id: number;
}

/** Cursor of a chat's messages (newest first): the last message of the previous page. */
export interface MessageCursor {
  createdAt: Timestamp;
  id: number;
}

export const queries = {
  /** Job board: newest first, one status; composite index jobs (status, createdAt desc, id desc). */
  jobBoard(db: Firestore, status: JobStatus, limit: number, after?: JobCursor) {
    const q = refs(db).jobs().where('status', '==', status).orderBy('createdAt', 'desc').orderBy('id', 'desc');
    return (after === undefined ? q : q.startAfter(after.createdAt, after.id)).limit(limit);
  },
  /** Latest messages of a chat; composite index messages (createdAt desc, id desc). */
  latestMessages(db: Firestore, chatId: number, limit: number, after?: MessageCursor) {
    const q = refs(db).messages(chatId).orderBy('createdAt', 'desc').orderBy('id', 'desc');
    return (after === undefined ? q : q.startAfter(after.createdAt, after.id)).limit(limit);
  },
  /** A user's notifications, newest first; composite index notifications (createdAt desc, id desc). */
  latestNotifications(db: Firestore, userId: number, limit: number) {
    return refs(db).notifications(userId).orderBy('createdAt', 'desc').orderBy('id', 'desc').limit(limit);
  },
  /** The unread ones, for `count()` (single-field index on readAt). */
  unreadNotifications(db: Firestore, userId: number) {
    return refs(db).notifications(userId).where('readAt', '==', null);
  },
  /** Top of a board; composite index scores (score desc, userId asc). */
  topScores(db: Firestore, type: BoardType, limit: number) {
    return refs(db).scores(type).orderBy('score', 'desc').orderBy('userId', 'asc').limit(limit);
  },
  /** Entries strictly ahead of `score`, capped at `cap` (for `count()`: "is the user in the top N?"). */
  scoresAbove(db: Firestore, type: BoardType, score: number, cap: number) {
    return refs(db).scores(type).where('score', '>', score).limit(cap);
  },
  /** Members of a guild, oldest first; composite index members (joinedAt asc, userId asc). */
  guildMembers(db: Firestore, guildId: number, limit: number) {
    return refs(db).guildMembers(guildId).orderBy('joinedAt', 'asc').orderBy('userId', 'asc').limit(limit);
  },
  /** Most active guilds (cache warming); composite index guilds (activityScore desc, id asc). */
  topGuilds(db: Firestore, limit: number) {
    return refs(db).guilds().orderBy('activityScore', 'desc').orderBy('id', 'asc').limit(limit);
  },
  /** A user's expired sessions (housekeeping at log-in); composite index sessions (userId, expiresAt). */
  expiredSessions(db: Firestore, userId: number, now: Timestamp) {
    return refs(db).sessions().where('userId', '==', userId).where('expiresAt', '<=', now);
  },
} as const;
