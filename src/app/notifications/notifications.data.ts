/** The port of the notifications domain. The SQL adapter is notifications.sql.ts. */

export interface Notification {
  id: number;
  body: string;
  readAt: string | null;
  createdAt: string;
}

export interface NotificationList {
  items: Notification[];
  unread: number;
}

export interface NotificationsData {
  /** The user's latest `limit` notifications, newest first, and how many of all theirs are unread. */
  list(userId: number, limit: number): Promise<NotificationList>;
  /**
   * Marks the user's notification `id` read if it is unread. `changed` is false when it was
   * already read (nothing to invalidate). Throws NotFoundError('Notification') when it is
   * missing or someone else's: a 403 would tell a prober which ids exist.
   */
  markRead(userId: number, id: number): Promise<{ notification: Notification; changed: boolean }>;
}
