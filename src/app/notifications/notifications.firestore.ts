/** SKELETON (replaced by the real adapter before it lands): the Firestore adapter of the notifications port. */
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { NotificationsData } from './notifications.data.ts';

export function createFirestoreNotificationsData(ctx: FirestoreContext): NotificationsData {
  void ctx;
  throw new Error('not implemented yet: the Firestore adapter of notifications');
}
