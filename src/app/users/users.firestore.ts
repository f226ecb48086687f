/** SKELETON (replaced by the real adapter before it lands): the Firestore adapter of the users port. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { UsersData } from './users.data.ts';

export function createFirestoreUsersData(ctx: FirestoreContext): UsersData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of users');
}
