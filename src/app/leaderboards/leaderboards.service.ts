/**
 * Leaderboards: `leaderboard:{type}` holds the top LEADERBOARD_CACHED_ENTRIES of a board for
 * 5 min, and `?limit=N` is a slice of it, so every limit shares one key. Scores change when
 * a job is completed (jobs.service.ts deletes the boards then), by the reward it paid, and
 * saturate at MAX_SCORE (10^15).
 */
import { CacheKeys } from '../../cache/index.ts';
import { LEADERBOARD_CACHED_ENTRIES, READ_OPTIONS } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { NotFoundError } from '../http/errors.ts';
import type { LeaderboardEntry } from './leaderboards.data.ts';
import { isLeaderboardType, LEADERBOARD_TYPES, type LeaderboardType } from './leaderboards.rules.ts';

export type { LeaderboardEntry } from './leaderboards.data.ts';
export { isLeaderboardType, LEADERBOARD_TYPES, type LeaderboardType } from './leaderboards.rules.ts';

export interface Leaderboard {
  type: LeaderboardType;
  entries: LeaderboardEntry[];
}

async function readBoard(deps: AppDeps, type: LeaderboardType): Promise<ReadResult<LeaderboardEntry[]>> {
  return deps.cacheAccess.read(CacheKeys.leaderboard(type), () => deps.data.leaderboards.top(type, LEADERBOARD_CACHED_ENTRIES), READ_OPTIONS.leaderboard);
}

export async function getLeaderboard(deps: AppDeps, type: string, limit: number): Promise<ReadResult<Leaderboard>> {
  if (!isLeaderboardType(type)) throw new NotFoundError('Leaderboard');
  const board = await readBoard(deps, type);
  return { value: { type, entries: board.value.slice(0, limit) }, xCache: board.xCache };
}

/** Every board key, for a write that changed scores. */
export function allLeaderboardKeys(): string[] {
  return LEADERBOARD_TYPES.map((t) => CacheKeys.leaderboard(t));
}

/** Board keys whose cached entries show this user (for a display-name change). */
export async function leaderboardKeysShowingUser(deps: AppDeps, userId: number): Promise<string[]> {
  const types = await deps.data.leaderboards.boardsRankingUser(userId, LEADERBOARD_TYPES, LEADERBOARD_CACHED_ENTRIES);
  return types.map((t) => CacheKeys.leaderboard(t));
}

/** Warmer: every board. */
export async function warmLeaderboards(deps: AppDeps): Promise<number> {
  const reads = await Promise.all(LEADERBOARD_TYPES.map((t) => readBoard(deps, t)));
  return reads.filter((r) => r.xCache === 'MISS').length;
}
