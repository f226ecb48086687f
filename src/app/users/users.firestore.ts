/** SKELETON (replaced by the real adapter before it lands). BEFORE ANYTHING ELSE read /work/FIRESTORE-ADAPTER-INSTRUCTIONS.md: the rules, tests and the 06:40 UTC deadline for this work. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { UsersData } from './users.data.ts';

export function createFirestoreUsersData(ctx: FirestoreContext): UsersData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of users');
}
