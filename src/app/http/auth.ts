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
import type { FastifyBaseLogger, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { resolveSession, TOKEN_PATTERN, type AuthContext } from '../sessions/sessions.service.ts';
import { RateLimitedError, UnauthorizedError } from './errors.ts';
import type { RateLimiter } from './rate-limit.ts';
import { bearerCredential } from './tokens.ts';

export type { AuthContext };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authenticate`; null on public routes. */
    auth: AuthContext | null;
  }
}

/** The bearer token of the request, if it carries a well-formed one (scheme in any case). */
export function bearerToken(req: FastifyRequest): string | undefined {
  const token = bearerCredential(req.headers.authorization);
  return token !== undefined && TOKEN_PATTERN.test(token) ? token : undefined;
}

export function authenticate(deps: AppDeps, limiter: RateLimiter): onRequestAsyncHookHandler {
  /**
   * Adds `by` to the IP's failure counter; throws 429 when that takes it past the limit.
   * Skipped while the cache is degraded: the counter would fail open anyway, and waiting for its
   * deadline would add a Redis timeout to every database fallback of the outage (the fallback
   * bulkhead bounds the database meanwhile).
   */
  const count = async (ip: string, by: number, log: FastifyBaseLogger): Promise<boolean> => {
    if (deps.cacheAccess.degraded) return false;
    const n = await limiter.add('auth-failure-ip', ip, by, limiter.windowSeconds, log);
    if (by > 0 && n !== undefined && n > deps.config.authFailureLimitPerIp) {
      throw new RateLimitedError(await limiter.secondsLeft('auth-failure-ip', ip, limiter.windowSeconds));
    }
    return true;
  };
  return async (req) => {
    if (req.headers.authorization === undefined) throw new UnauthorizedError();
    const token = bearerToken(req);
    // Whether this request's failure is already on the counter (its lookup took a slot).
    let counted = false;
    try {
      if (token === undefined) throw new UnauthorizedError();
      req.auth = await resolveSession(deps, token, {
        beforeLookup: async () => {
          counted = await count(req.ip, 1, req.log);
        },
        found: async () => {
          if (counted) await count(req.ip, -1, req.log);
          counted = false;
        },
      });
    } catch (err) {
      if (err instanceof UnauthorizedError && !counted) await count(req.ip, 1, req.log);
      throw err;
    }
  };
}
