/**
 * The Firestore adapter of the leaderboards port (leaderboards.data.ts), on
 * `leaderboards/{type}/scores/{userId}` (docs/firestore.md, "Leaderboards"). Scores are written
 * only by a job's completion, in the jobs adapter's transaction (jobs.firestore.ts).
 *
 * - `top`: `orderBy(score desc, userId asc).limit(limit)`, `limit` billed reads, no join: the
 *   display name is the copy in the score document (rewritten by the profile edit). Each score
 *   is shown through `clampScore`, as the SQL adapter reads it through LEAST/GREATEST: a value
 *   written by hand out of [0, MAX_SCORE] (or not an integer) must not fail this public read.
 * - `boardsRankingUser`: the user's score documents (one read each) and, per board, `count()` of
 *   the scores strictly above theirs, limited to `topN` (one billed read however low the user
 *   ranks). The SQL adapter also counts equal scores of lower user ids; this one does not, so at
 *   a tie on the boundary it may name one board too many, never one too few: it only decides
 *   which cached boards a rename invalidates.
 */
import type { FirestoreContext } from '../db/firestore/context.ts';
import { BOARD_TYPES, parseId, queries, type BoardType } from '../db/firestore/model.ts';
import { isDocId } from '../wallets/wallets.firestore.ts';
import type { LeaderboardEntry, LeaderboardsData } from './leaderboards.data.ts';
import { clampScore } from './leaderboards.rules.ts';

const DOMAIN = 'leaderboards';

function isBoardType(type: string): type is BoardType {
  return (BOARD_TYPES as readonly string[]).includes(type);
}

/** A stored score as a board shows it: an integer within [0, MAX_SCORE], whatever was written. */
function shownScore(raw: unknown): number {
  return typeof raw === 'number' && !Number.isNaN(raw) ? clampScore(Math.trunc(raw)) : 0;
}

export function createFirestoreLeaderboardsData(ctx: FirestoreContext): LeaderboardsData {
  return {
    async top(type, limit) {
      // SQL answers an unknown board (or LIMIT 0) with no rows; Firestore would refuse the path or the limit.
      if (!isBoardType(type) || !(limit >= 1)) return [];
      const snap = await ctx.bill.query(DOMAIN, queries.topScores(ctx.firestore, type, limit));
      return snap.docs.map((d, i): LeaderboardEntry => {
        const s = d.data();
        return {
          rank: i + 1,
          userId: typeof s.userId === 'number' ? s.userId : (parseId(d.id) ?? 0),
          displayName: typeof s.displayName === 'string' ? s.displayName : '',
          score: shownScore(s.score),
        };
      });
    },
    async boardsRankingUser(userId, types, topN) {
      const boards = [...new Set(types)].filter(isBoardType);
      if (boards.length === 0 || !isDocId(userId) || !(topN >= 1)) return [];
      const snaps = await ctx.bill.getAll(DOMAIN, ...boards.map((t) => ctx.refs.score(t, userId)));
      const ranking = await Promise.all(
        boards.map(async (type, i) => {
          const score: unknown = snaps[i]?.data()?.score;
          if (typeof score !== 'number') return false;
          return (await ctx.bill.count(DOMAIN, queries.scoresAbove(ctx.firestore, type, score, topN))) < topN;
        }),
      );
      return boards.filter((_, i) => ranking[i]);
    },
  };
}
