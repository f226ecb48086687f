/**
 * Notifications: the user's own list, cached per user (`notifications:{userId}`, 30 s).
 * Marking one read deletes that user's key, and only when it was unread (otherwise nothing
 * changed and nothing is stale).
 */
import { CacheKeys } from '../../cache/index.ts';
import { CACHE_TTL, PAGE_SIZE } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { ForbiddenError, NotFoundError } from '../http/errors.ts';
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
  const existing = await q.findNotification(deps.db, id);
  if (existing === undefined) throw new NotFoundError('Notification');
  if (existing.userId !== userId) throw new ForbiddenError('This notification belongs to another user');
  // Already read: idempotent, nothing changed.
  const { userId: _owner, ...notification } = existing;
  return notification;
}
