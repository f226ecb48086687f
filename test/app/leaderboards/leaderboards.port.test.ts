/**
 * The leaderboards port's contract (leaderboards.data.ts), the same assertions on the SQL
 * adapter and on the Firestore adapter (emulator): the order and shape of a board, the names
 * shown, and which boards rank a user. Scores are written by job completions (the jobs port
 * test covers that); here they are the seeded ones.
 */
import { expect, it } from 'vitest';
import { MAX_SCORE } from '../../../src/app/bounds.ts';
import { BOARD_TYPES } from '../../../src/app/db/firestore/model.ts';
import type { LeaderboardEntry } from '../../../src/app/leaderboards/leaderboards.data.ts';
import { describePorts } from '../../helpers/ports.ts';

const USERS = 120;

describePorts('leaderboards port on %s', { users: USERS }, (p) => {
  it.each(BOARD_TYPES)('top of %s: ranks from 1, score desc then user id, bounded integer scores, the users\' names', async (type) => {
    const all = await p.leaderboards.top(type, 1_000);
    expect(all).toHaveLength(USERS); // one score per user on every board
    expect(new Set(all.map((e) => e.userId)).size).toBe(USERS);
    all.forEach((e, i) => {
      expect(e.rank).toBe(i + 1);
      expect(Number.isSafeInteger(e.score) && e.score >= 0 && e.score <= MAX_SCORE).toBe(true);
      if (i > 0) {
        const prev = all[i - 1] as LeaderboardEntry;
        expect(prev.score > e.score || (prev.score === e.score && prev.userId < e.userId)).toBe(true);
      }
    });
    for (const e of all.slice(0, 10)) {
      expect(e.displayName).toBe(await p.inspect.displayName(e.userId));
      expect(e.score).toBe(await p.inspect.score(e.userId, type));
    }
    expect(await p.leaderboards.top(type, 10)).toEqual(all.slice(0, 10));
    expect(await p.leaderboards.top(type, 1)).toEqual(all.slice(0, 1));
  });

  it('an unknown board is empty', async () => {
    expect(await p.leaderboards.top('monthly', 10)).toEqual([]);
  });

  it('boardsRankingUser: never leaves out a board where the user is in the top N; ignores unknown boards and users', async () => {
    const n = 10;
    for (const type of BOARD_TYPES) {
      const board = await p.leaderboards.top(type, 1_000);
      const first = board[0] as LeaderboardEntry;
      expect(await p.leaderboards.boardsRankingUser(first.userId, [type], 1)).toEqual([type]);
      for (const e of board.slice(0, n)) expect(await p.leaderboards.boardsRankingUser(e.userId, [type, 'monthly'], n)).toEqual([type]);
      // The last user, with at least n users strictly ahead, is not in the top n.
      const last = board[board.length - 1] as LeaderboardEntry;
      expect(board.filter((e) => e.score > last.score).length).toBeGreaterThanOrEqual(n);
      expect(await p.leaderboards.boardsRankingUser(last.userId, [type], n)).toEqual([]);
    }
    const top = (await p.leaderboards.top('global', 1))[0] as LeaderboardEntry;
    const both = await p.leaderboards.boardsRankingUser(top.userId, BOARD_TYPES, USERS);
    expect([...both].sort()).toEqual([...BOARD_TYPES].sort());
    expect(await p.leaderboards.boardsRankingUser(100_000, BOARD_TYPES, n)).toEqual([]);
    expect(await p.leaderboards.boardsRankingUser(top.userId, [], n)).toEqual([]);
  });

  // Billing is Firestore's: the SQL adapters count rows, checked in the HTTP suites.
  if (p.name === 'firestore') it('bills limit reads for a board, at most two per board for boardsRankingUser', async () => {
    const { bill } = p.requireFirestore();
    const reads = (): number => bill.snapshot().leaderboards?.reads ?? 0;
    let r0 = reads();
    await p.leaderboards.top('global', 100);
    expect(reads() - r0).toBe(100);
    const last = (await p.leaderboards.top('global', 1_000)).at(-1) as LeaderboardEntry;
    r0 = reads();
    await p.leaderboards.boardsRankingUser(last.userId, BOARD_TYPES, 100);
    expect(reads() - r0).toBe(2 * BOARD_TYPES.length);
  });

  // Last: it writes out-of-range scores by hand (SQL's CHECK constraint forbids them, Firestore validates nothing).
  // On SQL the CHECK constraint refuses such a row; test/app/leaderboards/score-attack.test.ts drops it to check the same clamp.
  if (p.name === 'firestore') it('a score written by hand out of [0, MAX_SCORE] or fractional is shown clamped, not a failed read', async () => {
    const { ctx } = p.requireFirestore();
    await ctx.refs.score('global', 117).update({ score: 5 * MAX_SCORE });
    await ctx.refs.score('global', 118).update({ score: -7 });
    await ctx.refs.score('global', 119).update({ score: 12.7 });
    const board = await p.leaderboards.top('global', 1_000);
    expect(board[0]).toMatchObject({ rank: 1, userId: 117, score: MAX_SCORE });
    expect(board.at(-1)).toMatchObject({ rank: USERS, userId: 118, score: 0 });
    expect(board.find((e) => e.userId === 119)?.score).toBe(12);
  });
});
