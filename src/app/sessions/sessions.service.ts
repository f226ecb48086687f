/**
 * Sessions: opaque bearer tokens (32 random bytes, base64url), a new one at every log-in.
 * The database is the record (`sessions`, keyed by SHA-256 of the token, so a database leak
 * does not leak usable tokens); the cache holds `session:{sha256}` for SESSION_TTL_SECONDS
 * in front of it. A session therefore survives a Redis flush or outage and works with
 * CACHE_ENABLED=false: the lookup falls through to the database.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { CacheKeys } from '../../cache/index.ts';
import { sessionCacheTtl } from '../cache-policy.ts';
import { hashPassword, verifyPassword } from '../db/passwords.ts';
import type { AppDeps } from '../deps.ts';
import type { AuthContext } from '../http/auth.ts';
import { HttpError, UnauthorizedError } from '../http/errors.ts';
import type { RateLimiter } from '../http/rate-limit.ts';
import * as q from './sessions.queries.ts';

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
  // Counted before the password is checked: a flood is refused without any scrypt work.
  await limiter.hit('login-ip', input.ip, deps.config.loginRateLimitPerIp, log);
  await limiter.hit('login-account', email, deps.config.loginRateLimitPerAccount, log);

  const user = await q.findUserByEmail(deps.db, email);
  const ok = await verifyPassword(input.password, user?.password_hash ?? (await timingDummy()));
  if (user === undefined || !ok) throw new InvalidCredentialsError();

  const token = newToken();
  const tokenHash = hashToken(token);
  const ttl = sessionCacheTtl(deps.config);
  const expiresAt = new Date(Date.now() + ttl * 1000);
  const previousHash = input.previousToken === undefined ? undefined : hashToken(input.previousToken);
  await deps.db.transaction(async (tx) => {
    await q.deleteExpiredSessions(tx, user.id);
    if (previousHash !== undefined) await q.deleteSession(tx, previousHash);
    await q.insertSession(tx, tokenHash, user.id, expiresAt);
  });
  // After the commit. The new session is written through (the client uses it at once); a
  // failed cache write only costs one database read later.
  if (previousHash !== undefined) await deps.cacheAccess.invalidate(CacheKeys.session(previousHash));
  if (deps.cacheAccess.enabled) {
    const cached: CachedSession = { userId: user.id, expiresAt: expiresAt.toISOString() };
    await deps.cacheAccess.cache.set(CacheKeys.session(tokenHash), cached, ttl);
  }
  return { token, userId: user.id };
}

/** The session of a bearer token, or UnauthorizedError. Unknown tokens are never cached. */
export async function resolveSession(deps: AppDeps, token: string): Promise<AuthContext> {
  const tokenHash = hashToken(token);
  const key = CacheKeys.session(tokenHash);
  const { value } = await deps.cacheAccess.read<CachedSession>(
    key,
    async () => {
      const row = await q.findLiveSession(deps.db, tokenHash);
      if (row === undefined) throw new UnauthorizedError('Session expired or unknown');
      return { userId: row.user_id, expiresAt: row.expires_at.toISOString() };
    },
    sessionCacheTtl(deps.config),
  );
  if (Date.parse(value.expiresAt) <= Date.now()) {
    await deps.cacheAccess.invalidate(key);
    throw new UnauthorizedError('Session expired or unknown');
  }
  return { userId: value.userId, tokenHash };
}

export async function logout(deps: AppDeps, auth: AuthContext): Promise<void> {
  await q.deleteSession(deps.db, auth.tokenHash);
  await deps.cacheAccess.invalidate(CacheKeys.session(auth.tokenHash));
}
