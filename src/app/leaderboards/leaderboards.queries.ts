/** SQL of the leaderboards domain: boards are the `scores` rows of one type. */
import type { DbTx } from '../db/database.ts';

const Q = { domain: 'leaderboards' } as const;

export interface LeaderboardEntry {
  rank: number;
  userId: number;
  displayName: string;
  score: number;
}

/**
 * The top `limit` of one board; ties broken by user id, as the index is ordered. The score is
 * read through LEAST/GREATEST to [0, maxScore] even though a CHECK constraint already bounds
 * it: one out-of-range row (restored from an old backup, written by hand) must not make this
 * public read fail to convert an int8 and answer 500 to everyone, as it once did.
 */
export async function topScores(db: DbTx, type: string, limit: number, maxScore: number): Promise<LeaderboardEntry[]> {
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
export async function boardsRankingUser(db: DbTx, userId: number, types: readonly string[], topN: number): Promise<string[]> {
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

/**
 * Adds `amount` to the user's score on every board in `types` (creating the rows if needed),
 * saturating at `maxScore`: a score at the bound stays there instead of failing the job's
 * completion (the money is paid either way; scores are not money).
 */
export async function addToScores(tx: DbTx, userId: number, types: readonly string[], amount: number, maxScore: number): Promise<void> {
  await tx.query(
    `INSERT INTO scores (user_id, type, score, updated_at)
     SELECT $1, t, LEAST($3::bigint, $4::bigint), now() FROM unnest($2::text[]) AS t
     ON CONFLICT (user_id, type) DO UPDATE SET score = LEAST(scores.score + EXCLUDED.score, $4::bigint), updated_at = now()`,
    [userId, types, amount, maxScore],
    Q,
  );
}
