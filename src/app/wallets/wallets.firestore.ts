/** SKELETON (replaced by the real adapter before it lands): the Firestore adapter of the wallets port. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { WalletsData } from './wallets.data.ts';

export function createFirestoreWalletsData(ctx: FirestoreContext): WalletsData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of wallets');
}
