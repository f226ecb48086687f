/**
 * Issue 16, authentication that costs an attacker more than it costs us: failed authentication
 * limited per IP before any session lookup, unknown tokens cached as unknown, log-in lockout per
 * (account, IP) pair with backoff that a stranger cannot turn against the owner, the Bearer
 * scheme in any case, and no query string values in the log.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/app/config.ts';
import { loggerOptions, redactUrl } from '../../../src/app/http/logging.ts';
import { lockoutSeconds } from '../../../src/app/sessions/login-throttle.ts';
import { bearer, createTestApp, emailOf, passwordOf, type TestApp } from '../../helpers/app.ts';

const LIMITS = {
  authFailureLimitPerIp: 5,
  unknownTokenCacheSeconds: 30,
  loginRateLimitPerIp: 1000,
  loginRateLimitPerAccount: 20,
  loginLockoutAfterFailures: 3,
  // Long enough that no lock can run out between two requests of a test, even on a busy host.
  loginLockoutBaseSeconds: 10,
  loginLockoutMaxSeconds: 600,
  rateLimitWindowSeconds: 60,
};

/** Everything the app logs, as text (pino writes one JSON line per entry). */
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(chunk.toString('utf8'));
    done();
  },
});

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ config: LIMITS, logger: pino(loggerOptions('debug'), logStream) });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const randomToken = (): string => randomBytes(32).toString('base64url');
const SESSION_LOOKUP = /FROM sessions WHERE token_hash/;

let ipSeq = 0;
/** A fresh client address per use, so one test's counters never spill into the next. */
const nextIp = (): string => `10.20.${Math.floor(++ipSeq / 250)}.${(ipSeq % 250) + 1}`;

const getUser = (id: number, headers: Record<string, string>, ip: string) => t.app.inject({ method: 'GET', url: `/users/${id}`, headers, remoteAddress: ip });

function logIn(email: string, password: string, ip: string) {
  return t.app.inject({ method: 'POST', url: '/sessions', payload: { email, password }, remoteAddress: ip });
}

describe('failed authentication, per IP', () => {
  it('100 unknown tokens at once from one IP: 429 with Retry-After, and at most AUTH_FAILURE_LIMIT_PER_IP session lookups', async () => {
    const ip = nextIp();
    const before = t.queryCount(SESSION_LOOKUP);
    const answers = await Promise.all(Array.from({ length: 100 }, () => getUser(1, bearer(randomToken()), ip)));
    const lookups = t.queryCount(SESSION_LOOKUP) - before;
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(LIMITS.authFailureLimitPerIp);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(100 - LIMITS.authFailureLimitPerIp);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(lookups).toBeLessThanOrEqual(LIMITS.authFailureLimitPerIp);
    const limited = answers.find((r) => r.statusCode === 429);
    expect(limited?.json()).toMatchObject({ error: 'E_RATE_LIMITED' });
    const retryAfter = Number(limited?.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(LIMITS.rateLimitWindowSeconds);

    // Once over the limit, another 100 cost no lookup at all.
    const again = t.queryCount(SESSION_LOOKUP);
    for (let i = 0; i < 100; i++) expect((await getUser(1, bearer(randomToken()), ip)).statusCode).toBe(429);
    expect(t.queryCount(SESSION_LOOKUP)).toBe(again);
  });

  it('a valid session from that same IP is not slowed: 200, and its cached session costs no lookup', async () => {
    const ip = nextIp();
    const token = await t.loginAs(2);
    for (let i = 0; i < LIMITS.authFailureLimitPerIp + 1; i++) await getUser(2, bearer(randomToken()), ip);
    expect((await getUser(2, bearer(randomToken()), ip)).statusCode).toBe(429);
    const before = t.queryCount(SESSION_LOOKUP);
    for (let i = 0; i < 5; i++) expect((await getUser(2, bearer(token), ip)).statusCode).toBe(200);
    expect(t.queryCount(SESSION_LOOKUP)).toBe(before);
  });

  it('a successful lookup gives its slot back: valid sessions read from the database never use up the limit', async () => {
    const ip = nextIp();
    const token = await t.loginAs(3);
    for (let i = 0; i < LIMITS.authFailureLimitPerIp * 2; i++) {
      // As after a cache flush: the session has to come from the database.
      await t.redis.del(`${t.prefix}session:${sha256(token)}`);
      expect((await getUser(3, bearer(token), ip)).statusCode).toBe(200);
    }
  });

  it('malformed Authorization headers count as failures; requests without one do not', async () => {
    const ip = nextIp();
    for (let i = 0; i < 10; i++) expect((await getUser(1, {}, ip)).statusCode).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.authFailureLimitPerIp + 2; i++) statuses.push((await getUser(1, { authorization: 'Bearer nope' }, ip)).statusCode);
    expect(statuses).toEqual([...Array<number>(LIMITS.authFailureLimitPerIp).fill(401), 429, 429]);
    // Other addresses are not affected.
    expect((await getUser(1, { authorization: 'Bearer nope' }, nextIp())).statusCode).toBe(401);
  });
});

describe('unknown tokens are cached as unknown', () => {
  it('the same unknown token from 10 IPs reaches the database once', async () => {
    const token = randomToken();
    const before = t.queryCount(SESSION_LOOKUP);
    for (let i = 0; i < 10; i++) expect((await getUser(1, bearer(token), nextIp())).statusCode).toBe(401);
    expect(t.queryCount(SESSION_LOOKUP) - before).toBe(1);
    expect(await t.keyExists(`session:${sha256(token)}`)).toBe(true);
  });

  it('a logged-out token is refused, and a new log-in is not shadowed by any unknown entry', async () => {
    const ip = nextIp();
    const token = await t.loginAs(4);
    expect((await t.app.inject({ method: 'DELETE', url: '/sessions/current', headers: bearer(token), remoteAddress: ip })).statusCode).toBe(204);
    expect((await getUser(4, bearer(token), ip)).statusCode).toBe(401);
    expect((await getUser(4, bearer(token), ip)).statusCode).toBe(401);
    const fresh = await t.loginAs(4);
    expect((await getUser(4, bearer(fresh), ip)).statusCode).toBe(200);
  });

  it("a log-in's write-through replaces an entry cached as unknown under the same key", async () => {
    const token = randomToken();
    expect((await getUser(5, bearer(token), nextIp())).statusCode).toBe(401);
    expect(await t.keyExists(`session:${sha256(token)}`)).toBe(true);
    // What login() does after its commit, for a token that was looked up before it existed.
    await t.db.query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, 5, now() + interval '1 hour')", [sha256(token)]);
    await t.cache().set(`session:${sha256(token)}`, { userId: 5, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }, 3600);
    expect((await getUser(5, bearer(token), nextIp())).statusCode).toBe(200);
  });
});

describe('Bearer scheme', () => {
  it('is matched case-insensitively, with any run of spaces or tabs after it', async () => {
    const token = await t.loginAs(6);
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `bEaReR ${token}`, `Bearer   ${token}`, `Bearer\t${token}`, `  Bearer ${token}  `]) {
      expect((await getUser(6, { authorization: header }, nextIp())).statusCode, JSON.stringify(header)).toBe(200);
    }
    for (const header of [`Bearer${token}`, `Basic ${token}`, `Bearer ${token} extra`, `Token ${token}`]) {
      expect((await getUser(6, { authorization: header }, nextIp())).statusCode, JSON.stringify(header)).toBe(401);
    }
  });
});

describe('log-in lockout per (account, IP) with backoff', () => {
  it('backoff: base × 2^(failures − N) seconds, capped', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((f) => lockoutSeconds(f, LIMITS))).toEqual([0, 0, 10, 20, 40, 80, 160, 320, 600]);
    expect(lockoutSeconds(1000, LIMITS)).toBe(600);
  });

  it('locks the pair after N failures (429 even with the right password), doubles on the next failure, and a success resets it', async () => {
    const ip = nextIp();
    const email = emailOf(20);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await logIn(email, 'wrong', ip)).statusCode);
    expect(statuses).toEqual([401, 401, 401]);
    const locked = await logIn(email, passwordOf(20), ip);
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(10);
    // The same account from another address is not locked.
    expect((await logIn(email, passwordOf(20), nextIp())).statusCode).toBe(201);

    // As if the 10 s had passed (deleting the lock instead of sleeping): one more failure locks for 20 s.
    const lockKeys = await t.keys('ratelimit:login-lock:*');
    expect(lockKeys.length).toBeGreaterThan(0);
    for (const k of lockKeys) await t.redis.del(t.prefix + k);
    expect((await logIn(email, 'wrong', ip)).statusCode).toBe(401);
    const longer = await logIn(email, passwordOf(20), ip);
    expect(longer.statusCode).toBe(429);
    expect(Number(longer.headers['retry-after'])).toBeGreaterThan(10);
    expect(Number(longer.headers['retry-after'])).toBeLessThanOrEqual(20);

    for (const k of await t.keys('ratelimit:login-lock:*')) await t.redis.del(t.prefix + k);
    expect((await logIn(email, passwordOf(20), ip)).statusCode).toBe(201);
    // Reset: the next failure is the first again, not a lock.
    expect((await logIn(email, 'wrong', ip)).statusCode).toBe(401);
    expect((await logIn(email, passwordOf(20), ip)).statusCode).toBe(201);
  });

  it('the owner can still log in while strangers guess: 10 IPs × 10 wrong passwords, then the owner logs in (201)', async () => {
    const email = emailOf(21);
    const ownerIp = nextIp();
    // The owner has used this address before (an address never used for this account is refused
    // once the account's failures from unknown IPs pass LOGIN_RATE_LIMIT_PER_ACCOUNT; see below).
    expect((await logIn(email, passwordOf(21), ownerIp)).statusCode).toBe(201);

    const strangers = Array.from({ length: 10 }, () => nextIp());
    const statuses: number[] = [];
    for (let round = 0; round < 10; round++) for (const ip of strangers) statuses.push((await logIn(email, `guess-${round}`, ip)).statusCode);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    // Each stranger gets N tries, then their own pair is locked; then the account refuses unknown IPs.
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(LIMITS.loginRateLimitPerAccount);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(100 - LIMITS.loginRateLimitPerAccount);

    const owner = await logIn(email, passwordOf(21), ownerIp);
    expect(owner.statusCode).toBe(201);
    const token = owner.json<{ token: string }>().token;
    expect((await getUser(21, bearer(token), ownerIp)).statusCode).toBe(200);
    // The trade-off: an address new to the account waits for the window while the attack lasts.
    expect((await logIn(email, passwordOf(21), nextIp())).statusCode).toBe(429);
  });

  it('strangers under the account-wide threshold do not affect the owner on a new address either', async () => {
    const email = emailOf(22);
    for (let i = 0; i < 10; i++) {
      const ip = nextIp();
      expect((await logIn(email, 'wrong-1', ip)).statusCode).toBe(401);
    }
    expect((await logIn(email, passwordOf(22), nextIp())).statusCode).toBe(201);
  });
});

describe('logging', () => {
  it('redactUrl keeps the path and drops every query string value', () => {
    expect(redactUrl('/users/1?token=SECRET&x=1')).toBe('/users/1?[redacted]');
    expect(redactUrl('/users/1')).toBe('/users/1');
    expect(redactUrl('/a#frag?token=SECRET')).toBe('/a?[redacted]');
  });

  it('no query string value reaches the log: an authenticated 200, unauthenticated 401s, a 429 and a 404', async () => {
    const token = await t.loginAs(7);
    const get = (url: string, headers: Record<string, string> = {}, ip = '127.0.0.1') => t.app.inject({ method: 'GET', url, headers, remoteAddress: ip });
    const flooded = nextIp();
    for (let i = 0; i < LIMITS.authFailureLimitPerIp; i++) await getUser(7, bearer(randomToken()), flooded);
    logLines.length = 0;
    expect((await get('/users/7?token=SECRET-A', bearer(token))).statusCode).toBe(200);
    expect((await get('/users/7?token=SECRET-B')).statusCode).toBe(401);
    expect((await get('/users/7?token=SECRET-C', bearer(randomToken()))).statusCode).toBe(401);
    expect((await get('/users/7?token=SECRET-D', bearer(randomToken()), flooded)).statusCode).toBe(429);
    expect((await get('/nowhere?token=SECRET-E&b=SECRET-F')).statusCode).toBe(404);
    const text = logLines.join('');
    expect(text).toContain('incoming request');
    expect(text).toContain('/users/7?[redacted]');
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain(token);
  });
});

describe('configuration', () => {
  it('validates the new variables', () => {
    const c = loadConfig({ NODE_ENV: 'test' });
    expect([c.authFailureLimitPerIp, c.unknownTokenCacheSeconds, c.loginLockoutAfterFailures, c.loginLockoutBaseSeconds, c.loginLockoutMaxSeconds, c.loginRateLimitPerAccount]).toEqual([20, 30, 5, 2, 900, 20]);
    expect(() => loadConfig({ NODE_ENV: 'test', UNKNOWN_TOKEN_CACHE_SECONDS: '0' })).toThrow(/UNKNOWN_TOKEN_CACHE_SECONDS/);
    expect(() => loadConfig({ NODE_ENV: 'test', AUTH_FAILURE_LIMIT_PER_IP: 'lots' })).toThrow(/AUTH_FAILURE_LIMIT_PER_IP/);
    expect(() => loadConfig({ NODE_ENV: 'test', LOGIN_LOCKOUT_BASE_SECONDS: '60', LOGIN_LOCKOUT_MAX_SECONDS: '30' })).toThrow(ConfigError);
  });
});

describe('Redis outage', () => {
  it('authentication fails open: a valid session is read from the database and an unknown token is a 401, not a 500', async () => {
    const token = await t.loginAs(8);
    await t.redisServer.kill();
    try {
      expect((await getUser(8, bearer(token), nextIp())).statusCode).toBe(200);
      expect((await getUser(8, bearer(randomToken()), nextIp())).statusCode).toBe(401);
    } finally {
      await t.redisServer.restart();
    }
  });
});
