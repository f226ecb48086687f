/** GET /chats/:id/messages?page=N and POST /chats/:id/messages, members only. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { MAX_PAGE } from '../cache-policy.ts';
import { cached, currentUserId, Id, IdParams, MultiLine, Timestamp, type DomainOptions } from '../http/domain.ts';
import { getMessages, postMessage } from './chat.service.ts';

const MessageSchema = Type.Object({ id: Id, chatId: Id, userId: Id, body: Type.String(), createdAt: Timestamp });
const PageSchema = Type.Object({
  chatId: Id,
  items: Type.Array(MessageSchema),
  page: Type.Integer(),
  pageSize: Type.Integer(),
  hasMore: Type.Boolean(),
});
const PageQuery = Type.Object({ page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }) }, { additionalProperties: false });
const PostBody = Type.Object({ body: MultiLine({ minLength: 1, maxLength: 4000 }) }, { additionalProperties: false });

export const chatRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (app, { deps }) => {
  app.get('/chats/:id/messages', { schema: { params: IdParams, querystring: PageQuery, response: { 200: PageSchema } } }, async (req, reply) => {
    return cached(reply, await getMessages(deps, currentUserId(req), req.params.id, req.query.page));
  });

  app.post('/chats/:id/messages', { schema: { params: IdParams, body: PostBody, response: { 201: MessageSchema } } }, async (req, reply) => {
    return reply.code(201).send(await postMessage(deps, currentUserId(req), req.params.id, req.body.body));
  });
};
