/**
 * The cache policy of the reference backend, in one place: how long each kind of data may be
 * served from the cache, and which writes delete it. Services read their TTLs from here, the
 * README's table is this file, and the load-test simulator imports it.
 *
 * TTLs are a ceiling on staleness only for changes made outside this API (a SQL console, a
 * batch job): every write through the API deletes the keys it made stale, after its commit.
 */
import { CacheTTL, keySegment, type GetOrSetOptions } from '../cache/index.ts';
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
 *   written after it) and never any grace, so a stale balance is never served.
 */
export const READ_OPTIONS = {
  leaderboard: { ttl: CACHE_TTL.leaderboard, graceSeconds: 600, softTimeoutMs: 0, earlyRefresh: true },
  jobList: { ttl: CACHE_TTL.jobList, graceSeconds: 300, softTimeoutMs: 0, earlyRefresh: true },
  walletBalance: { ttl: CACHE_TTL.walletBalance, graceSeconds: false, lease: true },
} as const;

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
