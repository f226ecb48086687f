/** GET /notifications (own) and POST /notifications/:id/read. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { cached, currentUserId, Id, IdParams, Nullable, Timestamp, type DomainOptions } from '../http/domain.ts';
import { listNotifications, markRead } from './notifications.service.ts';

const NotificationSchema = Type.Object({ id: Id, body: Type.String(), readAt: Nullable(Timestamp), createdAt: Timestamp });
const ListSchema = Type.Object({ items: Type.Array(NotificationSchema), unread: Type.Integer() });

export const notificationRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (app, { deps }) => {
  app.get('/notifications', { schema: { response: { 200: ListSchema } } }, async (req, reply) => {
    void reply.header('cache-control', 'private, no-store');
    return cached(reply, await listNotifications(deps, currentUserId(req)));
  });

  app.post('/notifications/:id/read', { schema: { params: IdParams, response: { 200: NotificationSchema } } }, async (req) => {
    return markRead(deps, currentUserId(req), req.params.id);
  });
};
