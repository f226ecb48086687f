/** The PostgreSQL/PGlite adapter of the notifications port (notifications.data.ts). */
import type { Database, DbTx } from '../db/database.ts';
import { NotFoundError } from '../http/errors.ts';
import type { Notification, NotificationList, NotificationsData } from './notifications.data.ts';

const Q = { domain: 'notifications' } as const;

interface NotificationRow {
  id: number;
  user_id: number;
  body: string;
  read_at: Date | null;
  created_at: Date;
}

const toNotification = (r: NotificationRow): Notification => ({
  id: r.id,
  body: r.body,
  readAt: r.read_at === null ? null : r.read_at.toISOString(),
  createdAt: r.created_at.toISOString(),
});

/** The user's latest notifications, newest first, and how many of all theirs are unread. */
async function listNotifications(db: DbTx, userId: number, limit: number): Promise<NotificationList> {
  const { rows } = await db.query<NotificationRow>(
    'SELECT id, user_id, body, read_at, created_at FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT $2',
    [userId, limit],
    Q,
  );
  const counted = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL', [userId], Q);
  return { items: rows.map(toNotification), unread: counted.rows[0]?.n ?? 0 };
}

/** Marks it read if it is the user's and unread; undefined otherwise. */
async function markRead(db: DbTx, id: number, userId: number): Promise<Notification | undefined> {
  const { rows } = await db.query<NotificationRow>(
    'UPDATE notifications SET read_at = now() WHERE id = $1 AND user_id = $2 AND read_at IS NULL RETURNING id, user_id, body, read_at, created_at',
    [id, userId],
    Q,
  );
  const row = rows[0];
  return row === undefined ? undefined : toNotification(row);
}

/** The user's own notification `id`; undefined when it is missing or someone else's. */
async function findOwnNotification(db: DbTx, id: number, userId: number): Promise<Notification | undefined> {
  const { rows } = await db.query<NotificationRow>('SELECT id, user_id, body, read_at, created_at FROM notifications WHERE id = $1 AND user_id = $2', [id, userId], Q);
  const row = rows[0];
  return row === undefined ? undefined : toNotification(row);
}

export function createSqlNotificationsData(db: Database): NotificationsData {
  return {
    list: (userId, limit) => listNotifications(db, userId, limit),
    async markRead(userId, id) {
      const updated = await markRead(db, id, userId);
      if (updated !== undefined) return { notification: updated, changed: true };
      const existing = await findOwnNotification(db, id, userId);
      if (existing === undefined) throw new NotFoundError('Notification');
      // Already read: idempotent, nothing changed.
      return { notification: existing, changed: false };
    },
  };
}
