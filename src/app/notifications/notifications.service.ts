/**
 * Notifications: the user's own list, cached per user (`notifications:{userId}`, 30 s).
 * Marking one read deletes that user's key, and only when it was unread (otherwise nothing
 * changed and nothing is stale).
 */
import { CacheKeys } from '../../cache/index.ts';
import { CACHE_TTL, PAGE_SIZE } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { NotFoundError } from '../http/errors.ts';
import * as q from './notifications.queries.ts';

export type { Notification } from './notifications.queries.ts';

export interface NotificationList {
  items: q.Notification[];
  unread: number;
}

export async function listNotifications(deps: AppDeps, userId: number): Promise<ReadResult<NotificationList>> {
  return deps.cacheAccess.read(CacheKeys.notifications(userId), () => q.listNotifications(deps.db, userId, PAGE_SIZE.notifications), CACHE_TTL.notifications);
}

export async function markRead(deps: AppDeps, userId: number, id: number): Promise<q.Notification> {
  const updated = await q.markRead(deps.db, id, userId);
  if (updated !== undefined) {
    await deps.cacheAccess.invalidate(CacheKeys.notifications(userId));
    return updated;
  }
  // Someone else's notification is "not found", exactly like a missing one: a 403 would tell a
  // prober which ids exist.
  const existing = await q.findOwnNotification(deps.db, id, userId);
  if (existing === undefined) throw new NotFoundError('Notification');
  // Already read: idempotent, nothing changed.
  return existing;
}
