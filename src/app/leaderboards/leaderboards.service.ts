/**
 * Leaderboards: `leaderboard:{type}` holds the top LEADERBOARD_CACHED_ENTRIES of a board for
 * 5 min, and `?limit=N` is a slice of it, so every limit shares one key. Scores change when
 * a job is completed (jobs.service.ts deletes the boards then), by the reward it paid, and
 * saturate at MAX_SCORE (10^15).
 */
import { CacheKeys } from '../../cache/index.ts';
import { MAX_SCORE } from '../bounds.ts';
import { LEADERBOARD_CACHED_ENTRIES, READ_OPTIONS } from '../cache-policy.ts';
import type { DbTx } from '../db/database.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { NotFoundError } from '../http/errors.ts';
import * as q from './leaderboards.queries.ts';

export type { LeaderboardEntry } from './leaderboards.queries.ts';

/** The boards this backend serves; any other type is a 404 (and never reaches the cache). */
export const LEADERBOARD_TYPES = ['global', 'weekly'] as const;
export type LeaderboardType = (typeof LEADERBOARD_TYPES)[number];

export function isLeaderboardType(type: string): type is LeaderboardType {
  return (LEADERBOARD_TYPES as readonly string[]).includes(type);
}

export interface Leaderboard {
  type: LeaderboardType;
  entries: q.LeaderboardEntry[];
}

async function readBoard(deps: AppDeps, type: LeaderboardType): Promise<ReadResult<q.LeaderboardEntry[]>> {
  return deps.cacheAccess.read(CacheKeys.leaderboard(type), () => q.topScores(deps.db, type, LEADERBOARD_CACHED_ENTRIES, MAX_SCORE), READ_OPTIONS.leaderboard);
}

export async function getLeaderboard(deps: AppDeps, type: string, limit: number): Promise<ReadResult<Leaderboard>> {
  if (!isLeaderboardType(type)) throw new NotFoundError('Leaderboard');
  const board = await readBoard(deps, type);
  return { value: { type, entries: board.value.slice(0, limit) }, xCache: board.xCache };
}

/** In the caller's transaction: the reward a completed job paid counts on every board, up to MAX_SCORE. */
export async function recordReward(tx: DbTx, userId: number, reward: number): Promise<void> {
  await q.addToScores(tx, userId, LEADERBOARD_TYPES, reward, MAX_SCORE);
}

/** Every board key, for a write that changed scores. */
export function allLeaderboardKeys(): string[] {
  return LEADERBOARD_TYPES.map((t) => CacheKeys.leaderboard(t));
}

/** Board keys whose cached entries show this user (for a display-name change). */
export async function leaderboardKeysShowingUser(deps: AppDeps, userId: number): Promise<string[]> {
  const types = await q.boardsRankingUser(deps.db, userId, LEADERBOARD_TYPES, LEADERBOARD_CACHED_ENTRIES);
  return types.map((t) => CacheKeys.leaderboard(t));
}

/** Warmer: every board. */
export async function warmLeaderboards(deps: AppDeps): Promise<number> {
  const reads = await Promise.all(LEADERBOARD_TYPES.map((t) => readBoard(deps, t)));
  return reads.filter((r) => r.xCache === 'MISS').length;
}
