/** SKELETON (replaced by the real adapter before it lands). BEFORE ANYTHING ELSE read /work/FIRESTORE-ADAPTER-INSTRUCTIONS.md: the rules, tests and the 06:40 UTC deadline for this work. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { LeaderboardsData } from './leaderboards.data.ts';

export function createFirestoreLeaderboardsData(ctx: FirestoreContext): LeaderboardsData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of leaderboards');
}
