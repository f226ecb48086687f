/**
 * The Firestore adapter of the notifications port (notifications.data.ts); the SQL one is
 * notifications.sql.ts.
 *
 * Notifications live under their user (`users/{userId}/notifications/{id}`), so "someone else's
 * id" is simply a document that does not exist on this user's path: the same NotFoundError as a
 * missing id, with no way to tell them apart (and no read of the other user's document).
 *
 * Order: newest first by `createdAt`, ties by `id` (desc). SQL orders by id alone because its
 * ids come from one sequence; Firestore ids come in per-process blocks (ids.ts) and are not
 * time-ordered across processes, so time is the order here (docs/firestore.md).
 */
import { Timestamp, type DocumentSnapshot } from '@google-cloud/firestore';
import { orContention } from '../db/firestore/contention.ts';
import type { FirestoreContext } from '../db/firestore/context.ts';
import { queries, toIso, type NotificationDoc } from '../db/firestore/model.ts';
import { NotFoundError } from '../http/errors.ts';
import type { Notification, NotificationList, NotificationsData } from './notifications.data.ts';

const DOMAIN = 'notifications';

const toNotification = (d: NotificationDoc): Notification => ({
  id: d.id,
  body: d.body,
  readAt: d.readAt === null ? null : toIso(d.readAt),
  createdAt: toIso(d.createdAt),
});

const isId = (n: number): boolean => Number.isSafeInteger(n) && n >= 1;

/** The document when it exists and is this user's (the path already says so; the field is checked too). */
function own(snap: DocumentSnapshot<NotificationDoc>, userId: number): NotificationDoc | undefined {
  const d = snap.data();
  return d !== undefined && d.userId === userId ? d : undefined;
}

export function createFirestoreNotificationsData(ctx: FirestoreContext): NotificationsData {
  const { bill, refs, firestore } = ctx;
  return {
    /**
     * Two independent reads, as in SQL (not one snapshot): ≤ `limit` documents + one `count()`
     * read per started 1,000 unread. Both in parallel.
     */
    async list(userId, limit): Promise<NotificationList> {
      if (!isId(userId)) return { items: [], unread: 0 };
      const [items, unread] = await Promise.all([
        limit >= 1
          ? bill.query(DOMAIN, queries.latestNotifications(firestore, userId, limit)).then((page) => page.docs.map((d) => toNotification(d.data())))
          : Promise.resolve([]),
        bill.count(DOMAIN, queries.unreadNotifications(firestore, userId)),
      ]);
      return { items, unread };
    },

    /**
     * One transaction: read the notification (1 read), set `readAt` if it is unread. Already
     * read: no write, `changed: false`. Missing or someone else's: NotFoundError, thrown after
     * the transaction so that no error ever travels through the client's retry logic.
     */
    async markRead(userId, id) {
      if (!isId(userId) || !isId(id)) throw new NotFoundError('Notification');
      const ref = refs.notification(userId, id);
      const result = await orContention(
        bill.tx(DOMAIN, async (tx) => {
          const doc = own(await tx.get(ref), userId);
          if (doc === undefined) return undefined;
          if (doc.readAt !== null) return { notification: toNotification(doc), changed: false };
          const readAt = Timestamp.now();
          tx.update(ref, { readAt });
          return { notification: toNotification({ ...doc, readAt }), changed: true };
        }),
      );
      if (result === undefined) throw new NotFoundError('Notification');
      return result;
    },
  };
}
