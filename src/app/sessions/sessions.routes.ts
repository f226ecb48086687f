/** POST /sessions (log in, public) and DELETE /sessions/current (log out). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authenticate, bearerToken } from '../http/auth.ts';
import { Id, SingleLine, type DomainOptions } from '../http/domain.ts';
import { UnauthorizedError } from '../http/errors.ts';
import { login, logout } from './sessions.service.ts';

const LoginBody = Type.Object(
  {
    email: SingleLine({ minLength: 3, maxLength: 254 }),
    // Any character: the password is only hashed, never stored or compared as text.
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

const SessionBody = Type.Object({ token: Type.String(), userId: Id });

export const sessionRoutes: FastifyPluginAsyncTypebox<DomainOptions> = async (app, { deps, limiter }) => {
  app.post('/sessions', { schema: { body: LoginBody, response: { 201: SessionBody } } }, async (req, reply) => {
    const session = await login(deps, limiter, { ...req.body, ip: req.ip, previousToken: bearerToken(req) }, req.log);
    return reply.code(201).header('cache-control', 'no-store').send(session);
  });

  app.delete('/sessions/current', { onRequest: authenticate(deps, limiter) }, async (req, reply) => {
    if (req.auth === null) throw new UnauthorizedError();
    await logout(deps, req.auth);
    return reply.code(204).send();
  });
};
