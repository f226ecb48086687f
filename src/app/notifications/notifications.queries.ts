/** SQL of the notifications domain. */
import type { DbTx } from '../db/database.ts';

const Q = { domain: 'notifications' } as const;

export interface Notification {
  id: number;
  body: string;
  readAt: string | null;
  createdAt: string;
}

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
export async function listNotifications(db: DbTx, userId: number, limit: number): Promise<{ items: Notification[]; unread: number }> {
  const { rows } = await db.query<NotificationRow>(
    'SELECT id, user_id, body, read_at, created_at FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT $2',
    [userId, limit],
    Q,
  );
  const counted = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL', [userId], Q);
  return { items: rows.map(toNotification), unread: counted.rows[0]?.n ?? 0 };
}

/** Marks it read if it is the user's and unread; undefined otherwise. */
export async function markRead(db: DbTx, id: number, userId: number): Promise<Notification | undefined> {
  const { rows } = await db.query<NotificationRow>(
    'UPDATE notifications SET read_at = now() WHERE id = $1 AND user_id = $2 AND read_at IS NULL RETURNING id, user_id, body, read_at, created_at',
    [id, userId],
    Q,
  );
  const row = rows[0];
  return row === undefined ? undefined : toNotification(row);
}

/** The user's own notification `id`; undefined when it is missing or someone else's. */
export async function findOwnNotification(db: DbTx, id: number, userId: number): Promise<Notification | undefined> {
  const { rows } = await db.query<NotificationRow>('SELECT id, user_id, body, read_at, created_at FROM notifications WHERE id = $1 AND user_id = $2', [id, userId], Q);
  const row = rows[0];
  return row === undefined ? undefined : toNotification(row);
}
