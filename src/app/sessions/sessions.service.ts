/**
 * Sessions: opaque bearer tokens (32 random bytes, base64url), a new one at every log-in.
 * The database is the record (`sessions`, keyed by SHA-256 of the token, so a database leak
 * does not leak usable tokens); the cache holds `session:{sha256}` for SESSION_TTL_SECONDS
 * in front of it. A session therefore survives a Redis flush or outage and works with
 * CACHE_ENABLED=false: the lookup falls through to the database.
 *
 * An unknown token is cached too, as the library's negative entry (a cached null) under the
 * same `session:{sha256}` key for UNKNOWN_TOKEN_CACHE_SECONDS: repeating a made-up token does
 * not reach the database again. Sharing the key is what keeps it safe: a log-in's
 * write-through `set` of that key replaces it, and a log-out's delete removes it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { CacheKeys } from '../../cache/index.ts';
import { sessionCacheTtl } from '../cache-policy.ts';
import { hashPassword, verifyPassword } from '../db/passwords.ts';
import type { AppDeps } from '../deps.ts';
import { HttpError, UnauthorizedError } from '../http/errors.ts';
import type { RateLimiter } from '../http/rate-limit.ts';
import { LoginThrottle } from './login-throttle.ts';

/** Who a request's session belongs to (http/auth.ts puts it on `req.auth`). */
export interface AuthContext {
  userId: number;
  /** SHA-256 (hex) of the bearer token: the session's key in the database and the cache. */
  tokenHash: string;
}

/** 32 bytes in base64url without padding: exactly 43 characters. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** What the cache holds for a session (JSON: the expiry as an ISO string). */
interface CachedSession {
  userId: number;
  expiresAt: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A password hash nobody knows, checked when the email is unknown so that "no such user" and
 * "wrong password" take the same time and cannot be told apart.
 */
let dummyHash: Promise<string> | undefined;
function timingDummy(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}

export class InvalidCredentialsError extends HttpError {
  constructor() {
    super(401, 'E_INVALID_CREDENTIALS', 'Wrong email or password');
  }
}

export interface LoginInput {
  email: string;
  password: string;
  ip: string;
  /** The token the request already carried, if any: revoked, so a log-in always rotates. */
  previousToken: string | undefined;
}

export async function login(deps: AppDeps, limiter: RateLimiter, input: LoginInput, log: FastifyBaseLogger): Promise<{ token: string; userId: number }> {
  const email = input.email.trim().toLowerCase();
  // Checked before the password is: a flood or a locked pair is refused without any scrypt work.
  const throttle = new LoginThrottle(limiter, deps.config, log, email, input.ip);
  await throttle.admit();

  const user = await deps.data.sessions.findLogin(email);
  const ok = await verifyPassword(input.password, user?.passwordHash ?? (await timingDummy()));
  if (user === undefined || !ok) {
    await throttle.failed();
    throw new InvalidCredentialsError();
  }
  await throttle.succeeded();

  const token = newToken();
  const tokenHash = hashToken(token);
  const ttl = sessionCacheTtl(deps.config);
  const expiresAt = new Date(Date.now() + ttl * 1000);
  const previousHash = input.previousToken === undefined ? undefined : hashToken(input.previousToken);
  await deps.data.sessions.start({ userId: user.userId, tokenHash, expiresAt, previousTokenHash: previousHash });
  // After the commit. The new session is written through (the client uses it at once); a
  // failed cache write only costs one database read later.
  if (previousHash !== undefined) await deps.cacheAccess.invalidate(CacheKeys.session(previousHash));
  if (deps.cacheAccess.enabled) {
    const cached: CachedSession = { userId: user.userId, expiresAt: expiresAt.toISOString() };
    await deps.cacheAccess.cache.set(CacheKeys.session(tokenHash), cached, ttl);
  }
  return { token, userId: user.userId };
}

/** Called around the database lookup, which only happens on a cache miss. */
export interface SessionLookupHooks {
  /** Before the database is asked; throwing refuses the request without the lookup. */
  beforeLookup(): Promise<void>;
  /** The lookup found a live session. */
  found(): Promise<void>;
}

const NO_HOOKS: SessionLookupHooks = { beforeLookup: async () => undefined, found: async () => undefined };

/**
 * The session of a bearer token, or UnauthorizedError. An unknown token is cached as unknown
 * for UNKNOWN_TOKEN_CACHE_SECONDS (see the top of this file).
 */
export async function resolveSession(deps: AppDeps, token: string, hooks: SessionLookupHooks = NO_HOOKS): Promise<AuthContext> {
  const tokenHash = hashToken(token);
  const key = CacheKeys.session(tokenHash);
  const { value } = await deps.cacheAccess.read<CachedSession | null>(
    key,
    async () => {
      await hooks.beforeLookup();
      const session = await deps.data.sessions.findLive(tokenHash);
      if (session === undefined) return null;
      await hooks.found();
      return { userId: session.userId, expiresAt: session.expiresAt.toISOString() };
    },
    { ttl: sessionCacheTtl(deps.config), negativeTtlSeconds: deps.config.unknownTokenCacheSeconds },
  );
  if (value === null) throw new UnauthorizedError('Session expired or unknown');
  if (Date.parse(value.expiresAt) <= Date.now()) {
    await deps.cacheAccess.invalidate(key);
    throw new UnauthorizedError('Session expired or unknown');
  }
  return { userId: value.userId, tokenHash };
}

export async function logout(deps: AppDeps, auth: AuthContext): Promise<void> {
  await deps.data.sessions.delete(auth.tokenHash);
  await deps.cacheAccess.invalidate(CacheKeys.session(auth.tokenHash));
}
