/** The PostgreSQL/PGlite adapter of the leaderboards port (leaderboards.data.ts): boards are the `scores` rows of one type. */
import { MAX_SCORE } from '../bounds.ts';
import type { Database, DbTx } from '../db/database.ts';
import type { LeaderboardEntry, LeaderboardsData } from './leaderboards.data.ts';
import { LEADERBOARD_TYPES } from './leaderboards.rules.ts';

const Q = { domain: 'leaderboards' } as const;

/**
 * The top `limit` of one board; ties broken by user id, as the index is ordered. The score is
 * read through LEAST/GREATEST to [0, maxScore] even though a CHECK constraint already bounds
 * it: one out-of-range row (restored from an old backup, written by hand) must not make this
 * public read fail to convert an int8 and answer 500 to everyone, as it once did.
 */
async function topScores(db: DbTx, type: string, limit: number, maxScore: number): Promise<LeaderboardEntry[]> {
  const { rows } = await db.query<{ user_id: number; display_name: string; score: number }>(
    `SELECT s.user_id, u.display_name, LEAST(GREATEST(s.score, 0), $3::bigint) AS score
       FROM scores s JOIN users u ON u.id = s.user_id
      WHERE s.type = $1
      ORDER BY s.score DESC, s.user_id
      LIMIT $2`,
    [type, limit, maxScore],
    Q,
  );
  return rows.map((r, i) => ({ rank: i + 1, userId: r.user_id, displayName: r.display_name, score: r.score }));
}

/**
 * The boards among `types` where the user ranks within the top `topN`. Counting the entries
 * ahead of the user stops at `topN`, so this reads at most topN index entries per board
 * however low the user ranks.
 */
async function boardsRankingUser(db: DbTx, userId: number, types: readonly string[], topN: number): Promise<string[]> {
  const { rows } = await db.query<{ type: string }>(
    `SELECT s.type FROM scores s
      WHERE s.user_id = $1 AND s.type = ANY($2::text[])
        AND (SELECT count(*) FROM (
               SELECT 1 FROM scores t
                WHERE t.type = s.type AND (t.score > s.score OR (t.score = s.score AND t.user_id < s.user_id))
                LIMIT $3) ahead) < $3`,
    [userId, types, topN],
    Q,
  );
  return rows.map((r) => r.type);
}

/** Adds `amount` to the user's score on every board in `types` (creating the rows if needed), saturating at `maxScore`. */
async function addToScores(tx: DbTx, userId: number, types: readonly string[], amount: number, maxScore: number): Promise<void> {
  await tx.query(
    `INSERT INTO scores (user_id, type, score, updated_at)
     SELECT $1, t, LEAST($3::bigint, $4::bigint), now() FROM unnest($2::text[]) AS t
     ON CONFLICT (user_id, type) DO UPDATE SET score = LEAST(scores.score + EXCLUDED.score, $4::bigint), updated_at = now()`,
    [userId, types, amount, maxScore],
    Q,
  );
}

/**
 * In the caller's transaction (the jobs adapter's completion): the reward counts on every
 * board, saturating at MAX_SCORE (`scoreAfterReward` in leaderboards.rules.ts, in SQL).
 */
export async function recordRewardSql(tx: DbTx, userId: number, reward: number): Promise<void> {
  await addToScores(tx, userId, LEADERBOARD_TYPES, reward, MAX_SCORE);
}

export function createSqlLeaderboardsData(db: Database): LeaderboardsData {
  return {
    // The clamp of `clampScore` (leaderboards.rules.ts) is done by LEAST/GREATEST in the query.
    top: (type, limit) => topScores(db, type, limit, MAX_SCORE),
    boardsRankingUser: (userId, types, topN) => boardsRankingUser(db, userId, types, topN),
  };
}
