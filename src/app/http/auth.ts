/**
 * Authentication: `Authorization: Bearer <token>`, resolved to a session (cache first, the
 * database behind it, see sessions.service.ts). Registered as an onRequest hook so a request
 * without a valid session gets 401 before its input is even validated.
 *
 * Failed authentication is rate limited per IP (`auth-failure-ip`, AUTH_FAILURE_LIMIT_PER_IP
 * per RATE_LIMIT_WINDOW_SECONDS), because made-up tokens are otherwise free database queries
 * for an attacker:
 *
 * - A request whose session is in the cache never touches the counter: valid sessions are
 *   not slowed, even from an address that is over the limit.
 * - On a cache miss, a slot is taken from the IP's counter (an atomic INCR) BEFORE the
 *   database is asked, and given back when the lookup finds a live session. An IP over the
 *   limit is answered 429 + Retry-After without any lookup, and concurrent requests cannot
 *   all pass a check made before any of them counted.
 * - Any other failure (malformed header, token cached as unknown, expired session) counts one
 *   after the fact; the one that crosses the limit is already answered 429.
 * A request without an Authorization header at all costs nothing and is not counted.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { resolveSession, TOKEN_PATTERN } from '../sessions/sessions.service.ts';
import { RateLimitedError, UnauthorizedError } from './errors.ts';
import type { RateLimiter } from './rate-limit.ts';

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

/**
 * `Bearer <token>`: the scheme is case-insensitive and may be followed by any run of spaces
 * or tabs (RFC 7235 §2.1, RFC 9110 §11.1); surrounding whitespace is ignored.
 */
const BEARER = /^bearer[ \t]+(\S+)$/i;

/** The bearer token of the request, if it carries a well-formed one. */
export function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const token = BEARER.exec(header.trim())?.[1];
  return token !== undefined && TOKEN_PATTERN.test(token) ? token : undefined;
}

export function authenticate(deps: AppDeps, limiter: RateLimiter): onRequestAsyncHookHandler {
  const limit = (): number => deps.config.authFailureLimitPerIp;
  const refuse = async (ip: string): Promise<never> => {
    throw new RateLimitedError(await limiter.secondsLeft('auth-failure-ip', ip, limiter.windowSeconds));
  };
  return async (req) => {
    if (req.headers.authorization === undefined) throw new UnauthorizedError();
    const token = bearerToken(req);
    let counted = false;
    try {
      if (token === undefined) throw new UnauthorizedError();
      req.auth = await resolveSession(deps, token, {
        beforeLookup: async () => {
          counted = true;
          const n = await limiter.add('auth-failure-ip', req.ip, 1, limiter.windowSeconds, req.log);
          if (n !== undefined && n > limit()) await refuse(req.ip);
        },
        found: async () => {
          counted = false;
          await limiter.add('auth-failure-ip', req.ip, -1, limiter.windowSeconds, req.log);
        },
      });
    } catch (err) {
      if (err instanceof UnauthorizedError && !counted) {
        const n = await limiter.add('auth-failure-ip', req.ip, 1, limiter.windowSeconds, req.log);
        if (n !== undefined && n > limit()) await refuse(req.ip);
      }
      throw err;
    }
  };
}
