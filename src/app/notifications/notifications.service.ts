/**
 * Notifications: the user's own list, cached per user (`notifications:{userId}`, 30 s).
 * Marking one read deletes that user's key, and only when it was unread (otherwise nothing
 * changed and nothing is stale).
 */
import { CacheKeys } from '../../cache/index.ts';
import { CACHE_TTL, PAGE_SIZE } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import type { Notification, NotificationList } from './notifications.data.ts';

export type { Notification, NotificationList } from './notifications.data.ts';

export async function listNotifications(deps: AppDeps, userId: number): Promise<ReadResult<NotificationList>> {
  return deps.cacheAccess.read(CacheKeys.notifications(userId), () => deps.data.notifications.list(userId, PAGE_SIZE.notifications), CACHE_TTL.notifications);
}

export async function markRead(deps: AppDeps, userId: number, id: number): Promise<Notification> {
  const { notification, changed } = await deps.data.notifications.markRead(userId, id);
  if (changed) await deps.cacheAccess.invalidate(CacheKeys.notifications(userId));
  return notification;
}
