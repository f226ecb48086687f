/** SKELETON (replaced by the real adapter before it lands): the Firestore adapter of the leaderboards port. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { LeaderboardsData } from './leaderboards.data.ts';

export function createFirestoreLeaderboardsData(ctx: FirestoreContext): LeaderboardsData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of leaderboards');
}
