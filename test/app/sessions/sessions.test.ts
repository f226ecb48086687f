/**
 * Sessions: log-in (token rotated each time, stored in the database by hash and cached),
 * log-out, 401s, log-in rate limits (429 + Retry-After), and sessions surviving a cache flush
 * and a Redis outage (the rate limiter fails open meanwhile).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, describeEachDatabase, emailOf, passwordOf, type TestApp } from '../../helpers/app.ts';

describeEachDatabase('sessions', (database) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ database, config: { loginRateLimitPerIp: 8, loginRateLimitPerAccount: 4, rateLimitWindowSeconds: 60 } });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
  let ipSeq = 0;
  /** A fresh client address, so the per-IP limit of one test does not spill into the next. */
  const nextIp = (): string => `10.0.0.${++ipSeq}`;

  function logIn(email: string, password: string, opts: { ip?: string; token?: string } = {}) {
    return t.app.inject({
      method: 'POST',
      url: '/sessions',
      payload: { email, password },
      remoteAddress: opts.ip ?? nextIp(),
      ...(opts.token === undefined ? {} : { headers: bearer(opts.token) }),
    });
  }

  describe('POST /sessions', () => {
    it('logs in: a 43-character base64url token, stored in the database by its SHA-256 and cached for 24 h', async () => {
      const res = await logIn('demo@example.com', 'demo1234');
      expect(res.statusCode).toBe(201);
      const { token, userId } = res.json<{ token: string; userId: number }>();
      expect(userId).toBe(1);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const stored = await t.inspect.session(sha256(token));
      expect(stored?.userId).toBe(1);
      expect(stored?.ttlSeconds).toBeGreaterThan(86_000);
      // Stored under the token's SHA-256 only, never under the token itself.
      expect(await t.inspect.sessionExists(token)).toBe(false);
      expect(await t.keyExists(`session:${sha256(token)}`)).toBe(true);
      expect(await t.redis.ttl(`${t.prefix}session:${sha256(token)}`)).toBeGreaterThan(86_000);
      const me = await t.app.inject({ method: 'GET', url: '/users/1', headers: bearer(token) });
      expect(me.statusCode).toBe(200);
    });

    it('rotates: every log-in gets a new token, and one presented with the log-in is revoked', async () => {
      const first = (await logIn(emailOf(5), passwordOf(5))).json<{ token: string }>().token;
      const second = (await logIn(emailOf(5), passwordOf(5), { token: first })).json<{ token: string }>().token;
      expect(second).not.toBe(first);
      expect(await t.keyExists(`session:${sha256(first)}`)).toBe(false);
      expect((await t.app.inject({ method: 'GET', url: '/users/5', headers: bearer(first) })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'GET', url: '/users/5', headers: bearer(second) })).statusCode).toBe(200);
    });

    it('refuses a wrong password and an unknown email alike (401), creating no session', async () => {
      const before = await t.inspect.sessionCount();
      const wrong = await logIn('demo@example.com', 'nope');
      const unknown = await logIn('nobody@example.com', 'demo1234');
      expect(wrong.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(401);
      expect(wrong.json()).toEqual(unknown.json());
      expect(await t.inspect.sessionCount()).toBe(before);
    });

    it('accepts the email in any case and with surrounding spaces', async () => {
      expect((await logIn('  DEMO@Example.com ', 'demo1234')).statusCode).toBe(201);
    });

    it('answers 400 naming the missing field', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/sessions', payload: { email: 'demo@example.com' } });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ field: 'password' });
    });
  });

  describe('authentication', () => {
    it('answers 401 without a token, with a malformed header, and with an unknown token (cached as unknown for UNKNOWN_TOKEN_CACHE_SECONDS only)', async () => {
      expect((await t.app.inject({ method: 'GET', url: '/notifications' })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'GET', url: '/notifications', headers: { authorization: 'Basic abc' } })).statusCode).toBe(401);
      const fake = 'A'.repeat(43);
      const res = await t.app.inject({ method: 'GET', url: '/notifications', headers: bearer(fake) });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'E_UNAUTHORIZED' });
      expect(await t.keyExists(`session:${sha256(fake)}`)).toBe(true);
      const ttl = await t.redis.ttl(`${t.prefix}session:${sha256(fake)}`);
      expect(ttl).toBeGreaterThan(0);
      // Redis's TTL also holds the cache's grace period; the entry is fresh for the configured
      // seconds, spread ±10 % by getOrSet's jitter.
      expect(await t.cache().ttl(`session:${sha256(fake)}`)).toBeLessThanOrEqual(Math.ceil(t.config.unknownTokenCacheSeconds * 1.1));
    });

    it('checks the session before validating input (401, not 400)', async () => {
      const res = await t.app.inject({ method: 'PATCH', url: '/users/abc', payload: { nope: 1 } });
      expect(res.statusCode).toBe(401);
    });

    it('a session survives a cache flush: read from the database and cached again', async () => {
      const token = await t.loginAs(6);
      await t.redis.flushAll();
      const res = await t.app.inject({ method: 'GET', url: '/users/6', headers: bearer(token) });
      expect(res.statusCode).toBe(200);
      expect(await t.keyExists(`session:${sha256(token)}`)).toBe(true);
    });

    it('an expired session is refused even while its cache entry lives', async () => {
      const token = await t.loginAs(7);
      await t.inspect.expireSession(sha256(token));
      await t.cache().set(`session:${sha256(token)}`, { userId: 7, expiresAt: new Date(Date.now() - 1000).toISOString() }, 60);
      expect(await t.keyExists(`session:${sha256(token)}`)).toBe(true);
      expect((await t.app.inject({ method: 'GET', url: '/users/7', headers: bearer(token) })).statusCode).toBe(401);
      expect(await t.keyExists(`session:${sha256(token)}`)).toBe(false);
    });
  });

  describe('DELETE /sessions/current', () => {
    it('logs out: deletes the row and the cache key; the token is refused afterwards', async () => {
      const token = await t.loginAs(8);
      const res = await t.app.inject({ method: 'DELETE', url: '/sessions/current', headers: bearer(token) });
      expect(res.statusCode).toBe(204);
      expect(await t.inspect.sessionExists(sha256(token))).toBe(false);
      expect(await t.keyExists(`session:${sha256(token)}`)).toBe(false);
      expect((await t.app.inject({ method: 'GET', url: '/users/8', headers: bearer(token) })).statusCode).toBe(401);
    });

    it('answers 401 without a session', async () => {
      expect((await t.app.inject({ method: 'DELETE', url: '/sessions/current' })).statusCode).toBe(401);
    });
  });

  describe('log-in rate limits', () => {
    it('per account: past LOGIN_RATE_LIMIT_PER_ACCOUNT failures from unknown IPs in the window, those IPs get 429 with Retry-After (even with the right password); the owner\'s own IP does not', async () => {
      const ownerIp = nextIp();
      expect((await logIn(emailOf(9), passwordOf(9), { ip: ownerIp })).statusCode).toBe(201);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await logIn(emailOf(9), 'wrong-password')).statusCode);
      expect(statuses).toEqual([401, 401, 401, 401]);
      const limited = await logIn(emailOf(9), passwordOf(9));
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ error: 'E_RATE_LIMITED' });
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      // The owner, from an address they have logged in from, is not locked out by strangers.
      expect((await logIn(emailOf(9), passwordOf(9), { ip: ownerIp })).statusCode).toBe(201);
      // Another account from the same kind of client is not affected.
      expect((await logIn(emailOf(10), passwordOf(10))).statusCode).toBe(201);
    });

    it('per IP: a flood from one address over many accounts is cut at LOGIN_RATE_LIMIT_PER_IP', async () => {
      const ip = '203.0.113.7';
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) statuses.push((await logIn(`flood${i}@example.com`, 'x', { ip })).statusCode);
      expect(statuses.slice(0, 8)).toEqual(Array(8).fill(401));
      expect(statuses.slice(8)).toEqual([429, 429]);
      expect((await logIn('demo@example.com', 'demo1234', { ip: '203.0.113.8' })).statusCode).toBe(201);
    });

    it('counts under ratelimit:* keys that expire with the window', async () => {
      const keys = await t.keys('ratelimit:login-ip:*');
      expect(keys.length).toBeGreaterThan(0);
      const ttl = await t.redis.ttl(`${t.prefix}${keys[0] ?? ''}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60);
    });
  });

  describe('Redis outage', () => {
    it('sessions keep working from the database and log-in fails open on the rate limit', async () => {
      const token = await t.loginAs(11);
      await t.redisServer.kill();
      try {
        const res = await t.app.inject({ method: 'GET', url: '/users/11', headers: bearer(token) });
        expect(res.statusCode).toBe(200);
        const login = await logIn(emailOf(12), passwordOf(12));
        expect(login.statusCode).toBe(201);
        const fresh = login.json<{ token: string }>().token;
        expect((await t.app.inject({ method: 'GET', url: '/users/12', headers: bearer(fresh) })).statusCode).toBe(200);
      } finally {
        await t.redisServer.restart();
      }
    });
  });
});
