/** Score rules, shared by every adapter: which boards exist, how a reward counts, bounds. */
import { MAX_SCORE } from '../bounds.ts';

/** The boards this backend serves; any other type is a 404 (and never reaches the cache). */
export const LEADERBOARD_TYPES = ['global', 'weekly'] as const;
export type LeaderboardType = (typeof LEADERBOARD_TYPES)[number];

export function isLeaderboardType(type: string): type is LeaderboardType {
  return (LEADERBOARD_TYPES as readonly string[]).includes(type);
}

/**
 * A completed job's reward counts on every board (LEADERBOARD_TYPES), starting from 0 for a
 * user without a score yet, saturating at MAX_SCORE: a score at the bound stays there instead
 * of failing the completion (the money is paid either way; scores are not money).
 */
export function scoreAfterReward(current: number | undefined, reward: number): number {
  return Math.min((current ?? 0) + reward, MAX_SCORE);
}

/** A stored score as a board shows it: within [0, MAX_SCORE] whatever was written by hand. */
export function clampScore(score: number): number {
  return Math.min(Math.max(score, 0), MAX_SCORE);
}
