/** GET /users/:id, PATCH /users/:id (own profile only). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { cached, currentUserId, Id, IdParams, Nullable, Timestamp, type DomainOptions } from '../http/domain.ts';
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
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    bio: Type.Optional(Type.String({ maxLength: 1000 })),
    avatarUrl: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 2048 }))),
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
