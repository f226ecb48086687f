/** Guilds: GET /guilds/:id, GET/POST /guilds/:id/members, DELETE /guilds/:id/members/:userId. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { cached, currentUserId, Id, IdParams, Timestamp, type DomainOptions } from '../http/domain.ts';
import { getGuild, getMembers, join, removeMember } from './guilds.service.ts';

const GuildSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  ownerId: Id,
  memberCount: Type.Integer(),
  activityScore: Type.Integer(),
  createdAt: Timestamp,
});

const MemberSchema = Type.Object({
  userId: Id,
  displayName: Type.String(),
  role: Type.Union([Type.Literal('owner'), Type.Literal('officer'), Type.Literal('member')]),
  joinedAt: Timestamp,
});

const MembersSchema = Type.Object({ guildId: Id, members: Type.Array(MemberSchema) });

const MemberParams = Type.Object({ id: Id, userId: Id });

export const guildRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (app, { deps }) => {
  app.get('/guilds/:id', { schema: { params: IdParams, response: { 200: GuildSchema } } }, async (req, reply) => {
    return cached(reply, await getGuild(deps, req.params.id));
  });

  app.get('/guilds/:id/members', { schema: { params: IdParams, response: { 200: MembersSchema } } }, async (req, reply) => {
    return cached(reply, await getMembers(deps, req.params.id));
  });

  app.post('/guilds/:id/members', { schema: { params: IdParams, response: { 201: MemberSchema } } }, async (req, reply) => {
    return reply.code(201).send(await join(deps, currentUserId(req), req.params.id));
  });

  app.delete('/guilds/:id/members/:userId', { schema: { params: MemberParams } }, async (req, reply) => {
    await removeMember(deps, currentUserId(req), req.params.id, req.params.userId);
    return reply.code(204).send();
  });
};
