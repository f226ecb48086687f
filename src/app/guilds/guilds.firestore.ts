/** SKELETON (replaced by the real adapter before it lands): the Firestore adapter of the guilds port. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { GuildsData } from './guilds.data.ts';

export function createFirestoreGuildsData(ctx: FirestoreContext): GuildsData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of guilds');
}
