/**
 * What every domain's routes share: the plugin options, the X-Cache header, the signed-in
 * user, and the common TypeBox schemas.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from './cache-access.ts';
import { UnauthorizedError } from './errors.ts';
import type { RateLimiter } from './rate-limit.ts';

export interface DomainOptions {
  deps: AppDeps;
  limiter: RateLimiter;
}

/** Sets `X-Cache` from the read and returns its value, for a handler to send. */
export function cached<T>(reply: FastifyReply, result: ReadResult<T>): T {
  void reply.header('x-cache', result.xCache);
  return result.value;
}

/** The signed-in user's id; routes behind `authenticate` always have one. */
export function currentUserId(req: FastifyRequest): number {
  if (req.auth === null) throw new UnauthorizedError();
  return req.auth.userId;
}

/** A database id: bigint in PostgreSQL, a safe integer here. */
export const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

export const IdParams = Type.Object({ id: Id });

/** Timestamps travel as ISO-8601 strings (also inside cached values). */
export const Timestamp = Type.String();

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** Error bodies, for the documentation of 4xx answers. */
export const ErrorBody = Type.Object({
  error: Type.String(),
  message: Type.String(),
  field: Type.Optional(Type.String()),
});
