/**
 * The cache policy of the reference backend, in one place: how long each kind of data may be
 * served from the cache, and which writes delete it. Services read their TTLs from here, the
 * README's table is this file, and the load-test simulator imports it.
 *
 * TTLs are a ceiling on staleness only for changes made outside this API (a SQL console, a
 * batch job): every write through the API deletes the keys it made stale, after its commit.
 */
import { CacheTTL, keySegment, type GetOrSetOptions, type L1Options } from '../cache/index.ts';
import type { AppConfig } from './config.ts';
import type { JobStatus } from './jobs/jobs.data.ts';

/** Seconds each cached kind of data lives. */
export const CACHE_TTL = {
  /** `user:{id}:profile`: public profile (display name, bio, avatar). */
  userProfile: CacheTTL.MEDIUM,
  /** `wallet:{userId}:balance`: read by its owner only; writes never trust it. */
  walletBalance: CacheTTL.SHORT,
  /** `guild:{id}`: guild data with its member count. */
  guild: CacheTTL.LONG,
  /** `guild:{id}:members`: the member list. */
  guildMembers: CacheTTL.LONG,
  /** `leaderboard:{type}`: the top LEADERBOARD_CACHED_ENTRIES of one board. */
  leaderboard: CacheTTL.MEDIUM,
  /**
   * `session:{sha256(token)}`: the default; the running value is SESSION_TTL_SECONDS
   * (`sessionCacheTtl`), which is also the session's lifetime in the database.
   */
  session: CacheTTL.VERY_LONG,
  /** `job:{id}`. */
  job: CacheTTL.MEDIUM,
  /** `jobs:{status}:{page}`: one page of the job board, tagged `jobs:{status}` (CACHE_TAGS). */
  jobList: CacheTTL.MEDIUM,
  /**
   * `chat:{id}`: chat name and member ids, used for the membership check. Membership only
   * changes outside the API, so this TTL bounds how long a removed member can still read.
   */
  chat: CacheTTL.MEDIUM,
  /**
   * `chat:{id}:messages:{page}`: one page of messages, read only after the membership check,
   * tagged `chat:{id}:messages` (CACHE_TAGS).
   */
  chatMessages: CacheTTL.SHORT,
  /** `notifications:{userId}`: the latest notifications and the unread count. */
  notifications: CacheTTL.SHORT,
} as const;

export type CachedKind = keyof typeof CACHE_TTL;

/**
 * How each kind is read through `getOrSet`, where it differs from "TTL, no grace":
 *
 * - Leaderboards and job listings are slow queries that many users read and that may be a few
 *   minutes old: after their TTL they are kept for `graceSeconds` and served stale at once
 *   (`softTimeoutMs: 0`) while one caller refreshes under the lease, and XFetch refreshes them
 *   early, so after warm-up no user waits for the query. An invalidation (a job completed, a job
 *   posted) still removes them outright (their tag moves, CACHE_TAGS): grace never outlives an
 *   invalidation.
 * - Wallet balances are money: leases on (a balance fetched before a transaction is never
 *   written after it), never any grace, so a stale balance is never served, and never the
 *   in-process tier (`l1: false`, see L1_POLICY: the namespace is excluded too; this per-call
 *   flag keeps a balance out of L1 even if that list is ever edited by mistake).
 */
export const READ_OPTIONS = {
  leaderboard: { ttl: CACHE_TTL.leaderboard, graceSeconds: 600, softTimeoutMs: 0, earlyRefresh: true },
  jobList: { ttl: CACHE_TTL.jobList, graceSeconds: 300, softTimeoutMs: 0, earlyRefresh: true },
  walletBalance: { ttl: CACHE_TTL.walletBalance, graceSeconds: false, lease: true, l1: false },
} as const;

/** The first segment of every key the backend writes (CacheKeys); a test checks the list is complete. */
export type CacheNamespace = 'user' | 'guild' | 'job' | 'jobs' | 'wallet' | 'leaderboard' | 'chat' | 'notifications' | 'session' | 'ratelimit';

/**
 * Which namespaces the in-process tier (L1, CACHE_L1=true) may hold. Every namespace has an
 * entry, so a new one is a decision, not a default.
 *
 * What L1 changes: a value served from an instance's memory is dropped when Redis reports that
 * its key changed (any instance, any client). Between a write's DEL landing in Redis and that
 * report reaching another instance, that instance can still serve the old value: normally the
 * time one message takes on an open connection (README, "The in-process tier", for the measured
 * figure); at worst about 2 x heartbeat + channel timeout (1.5 s with the library's defaults,
 * 250 ms and 1 s) when the report connection stalls silently, after which that instance empties
 * L1 and reads Redis until the connection answers again. The instance that wrote drops its own
 * copy at once. L1 keeps only fresh values (never past the TTL, never a
 * grace-period value), so TTLs and grace are unchanged.
 *
 * - `session`: yes. Every authenticated request reads its session, so this is where L1 saves
 *   the most Redis round trips. Revocation (log-out, rotation at log-in) deletes the key after
 *   the database commit; the propagation bound above is accepted as the revocation bound: the
 *   backend already has a window of the same kind without L1 (between the commit and the DEL,
 *   and while a failed DEL waits in the writing instance's outbox, every other instance serves
 *   the session from Redis), and `expiresAt` is still checked on every read. A deployment that
 *   needs revocation to hold on every instance within the DEL itself runs with CACHE_L1=false.
 * - `guild`: yes. Guilds and member lists are read by every member and change only on a join or
 *   a leave, which deletes both keys: long-lived, shared, rarely invalidated.
 * - `leaderboard`: yes. Two keys read by everyone; a board of 100 entries is also the costliest
 *   value to decode, which an L1 hit skips. Already allowed to be minutes old (grace).
 * - `wallet`: never. A balance is money: whichever instance answers must show the balance after
 *   the owner's last transaction. Excluded here AND read with `l1: false` (READ_OPTIONS).
 * - `ratelimit`: never. Counters and lock-out marks: an instance counting on its own copy would
 *   let an attacker past a limit. They are read with `get`, which only the exclusion covers.
 * - `user`, `job`, `jobs`, `chat`, `notifications`: not yet, until a load test shows them paying:
 *   profiles and notifications are one key per user with little reuse per instance (copies would
 *   be evicted before their second read), listings and chat pages are invalidated by every post
 *   (their tag moves), and `chat:{id}` is the membership check, kept with the rest of the chat.
 */
export const L1_POLICY: Readonly<Record<CacheNamespace, boolean>> = {
  session: true,
  guild: true,
  leaderboard: true,
  wallet: false,
  ratelimit: false,
  user: false,
  job: false,
  jobs: false,
  chat: false,
  notifications: false,
};

const namespacesWhere = (allowed: boolean): CacheNamespace[] => (Object.keys(L1_POLICY) as CacheNamespace[]).filter((ns) => L1_POLICY[ns] === allowed);

/**
 * Namespaces whose reads may use L1. CacheAccess reads anything else with `l1: false`, so a key
 * outside the list (a namespace added without an L1_POLICY entry) stays out of L1.
 */
export const L1_NAMESPACES: ReadonlySet<string> = new Set(namespacesWhere(true));

/**
 * The cache's `l1` option from the configuration: off, or on with the namespaces L1_POLICY
 * refuses excluded in the library itself, which also covers reads that do not go through
 * CacheAccess (`get` of rate-limit counters).
 */
export function l1CacheOptions(config: Pick<AppConfig, 'cacheL1' | 'cacheL1MaxEntries' | 'cacheL1MaxBytes'>): L1Options | false {
  if (!config.cacheL1) return false;
  return { maxEntries: config.cacheL1MaxEntries, maxBytes: config.cacheL1MaxBytes, excludeNamespaces: namespacesWhere(false) };
}

/**
 * Tags of the paged listings. A write that shifts a listing moves its tag's version: one
 * `SET` whatever the number of pages cached and the size of the keyspace, where deleting the
 * pages by pattern SCANs the whole keyspace (every master, twice). Pages written under the old
 * version read as absent (grace included) and expire at their TTL.
 */
export const CACHE_TAGS = {
  /** Every page of one chat's messages (`chat:{id}:messages:{page}`). */
  chatMessages: (chatId: number): string => `chat:${keySegment(chatId, 'chatId')}:messages`,
  /** Every page of one status's job listing (`jobs:{status}:{page}`). */
  jobList: (status: JobStatus): string => `jobs:${keySegment(status, 'status')}`,
} as const;

/** How a page of one chat's messages is read: its TTL, under the chat's tag. */
export function chatMessagesReadOptions(chatId: number): GetOrSetOptions {
  return { ttl: CACHE_TTL.chatMessages, tags: [CACHE_TAGS.chatMessages(chatId)] };
}

/** How a page of one status's job listing is read: READ_OPTIONS.jobList, under the status's tag. */
export function jobListReadOptions(status: JobStatus): GetOrSetOptions {
  return { ...READ_OPTIONS.jobList, tags: [CACHE_TAGS.jobList(status)] };
}

/** The session cache TTL in force: SESSION_TTL_SECONDS (default CacheTTL.VERY_LONG, 24 h). */
export function sessionCacheTtl(config: { sessionTtlSeconds: number }): number {
  return config.sessionTtlSeconds;
}

/** Page sizes: part of the cached value's shape, so they live with the policy. */
export const PAGE_SIZE = { jobs: 20, chatMessages: 50, notifications: 50 } as const;

/** Highest page number a listing accepts (and so the most pages cached per listing). */
export const MAX_PAGE = 1000;

/** Entries kept in a cached leaderboard; `?limit=N` (N ≤ this) slices it. */
export const LEADERBOARD_CACHED_ENTRIES = 100;

/** Members returned (and cached) per guild. */
export const GUILD_MEMBERS_LIMIT = 1000;

/** What each write deletes (keys, or tags: every entry written under them), for the README. */
export const INVALIDATIONS: ReadonlyArray<{ write: string; deletes: readonly string[] }> = [
  { write: 'PATCH /users/:id', deletes: ['user:{id}:profile', 'if displayName changed: guild:{g}:members of each guild of the user, leaderboard:{type} of each board whose top 100 holds the user'] },
  { write: 'POST /guilds/:id/members', deletes: ['guild:{id}', 'guild:{id}:members'] },
  { write: 'DELETE /guilds/:id/members/:userId', deletes: ['guild:{id}', 'guild:{id}:members'] },
  { write: 'POST /jobs', deletes: ['tag jobs:open (every page of jobs:open:*)'] },
  { write: 'PATCH /jobs/:id', deletes: ['job:{id}', 'tags jobs:{old status} and jobs:{new status}', 'on completion: leaderboard:global, leaderboard:weekly'] },
  { write: 'POST /wallets/:userId/transactions', deletes: ['wallet:{userId}:balance'] },
  { write: 'POST /chats/:id/messages', deletes: ['tag chat:{id}:messages (every page of chat:{id}:messages:*)'] },
  { write: 'POST /notifications/:id/read', deletes: ['notifications:{userId} (only when it was unread)'] },
  { write: 'POST /sessions', deletes: ['session:{old hash} when the request carried a session (rotation)'] },
  { write: 'DELETE /sessions/current', deletes: ['session:{hash}'] },
];
