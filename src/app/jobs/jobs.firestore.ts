/** SKELETON (replaced by the real adapter before it lands): the Firestore adapter of the jobs port. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { JobsData } from './jobs.data.ts';

export function createFirestoreJobsData(ctx: FirestoreContext): JobsData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of jobs');
}
