/** GET /users/:id, PATCH /users/:id (own profile only). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { cached, currentUserId, DisplayName, Id, IdParams, MultiLine, Nullable, SingleLine, Timestamp, type DomainOptions } from '../http/domain.ts';
import { getProfile, updateProfile } from './users.service.ts';

export const ProfileSchema = Type.Object({
  id: Id,
  displayName: Type.String(),
  bio: Type.String(),
  avatarUrl: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const ProfilePatchBody = Type.Object(
  {
    displayName: Type.Optional(DisplayName({ minLength: 1, maxLength: 100 })),
    bio: Type.Optional(MultiLine({ maxLength: 1000 })),
    avatarUrl: Type.Optional(Nullable(SingleLine({ minLength: 1, maxLength: 2048 }))),
  },
  { additionalProperties: false },
);

export const userRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (app, { deps }) => {
  app.get('/users/:id', { schema: { params: IdParams, response: { 200: ProfileSchema } } }, async (req, reply) => {
    return cached(reply, await getProfile(deps, req.params.id));
  });

  app.patch('/users/:id', { schema: { params: IdParams, body: ProfilePatchBody, response: { 200: ProfileSchema } } }, async (req) => {
    return updateProfile(deps, currentUserId(req), req.params.id, req.body);
  });
};
