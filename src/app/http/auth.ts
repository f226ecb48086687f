/**
 * Authentication: `Authorization: Bearer <token>`, resolved to a session (cache first, the
 * database behind it, see sessions.service.ts). Registered as an onRequest hook so a request
 * without a valid session gets 401 before its input is even validated.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { resolveSession, TOKEN_PATTERN } from '../sessions/sessions.service.ts';
import { UnauthorizedError } from './errors.ts';

export interface AuthContext {
  userId: number;
  /** SHA-256 (hex) of the bearer token: the session's key in the database and the cache. */
  tokenHash: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authenticate`; null on public routes. */
    auth: AuthContext | null;
  }
}

/** The bearer token of the request, if it carries a well-formed one. */
export function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer ([A-Za-z0-9_-]+)$/.exec(header.trim());
  const token = match?.[1];
  return token !== undefined && TOKEN_PATTERN.test(token) ? token : undefined;
}

export function authenticate(deps: AppDeps): onRequestAsyncHookHandler {
  return async (req) => {
    const token = bearerToken(req);
    if (token === undefined) throw new UnauthorizedError();
    req.auth = await resolveSession(deps, token);
  };
}
