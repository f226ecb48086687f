/**
 * The port of the leaderboards domain: a board is the scores of one type. Scores are only
 * written by a job's completion, inside the jobs port's atomic `update` (the rules are
 * leaderboards.rules.ts). The SQL adapter is leaderboards.sql.ts.
 */

export interface LeaderboardEntry {
  rank: number;
  userId: number;
  displayName: string;
  score: number;
}

export interface LeaderboardsData {
  /**
   * The top `limit` of one board, ties broken by user id, each score clamped to [0, MAX_SCORE]
   * (`clampScore`): one out-of-range stored value must not fail this public read.
   */
  top(type: string, limit: number): Promise<LeaderboardEntry[]>;
  /** The boards among `types` where the user ranks within the top `topN` (reading at most about topN entries per board). */
  boardsRankingUser(userId: number, types: readonly string[], topN: number): Promise<string[]>;
}
