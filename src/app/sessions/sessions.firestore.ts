/** SKELETON (replaced by the real adapter before it lands): the Firestore adapter of the sessions port. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { SessionsData } from './sessions.data.ts';

export function createFirestoreSessionsData(ctx: FirestoreContext): SessionsData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of sessions');
}
