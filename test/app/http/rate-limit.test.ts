/** Rate limits on the cache counters: 429 + Retry-After past the limit, reads not counted, fail-open (logged once) when the counter fails. */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createCache } from '../../../src/cache/index.ts';
import { loadConfig, type AppConfig } from '../../../src/app/config.ts';
import type { AppDeps } from '../../../src/app/deps.ts';
import { CacheAccess } from '../../../src/app/http/cache-access.ts';
import { HttpError } from '../../../src/app/http/errors.ts';
import { limitWrites, RateLimiter } from '../../../src/app/http/rate-limit.ts';

function depsWith(overrides: Partial<AppConfig>): AppDeps {
  const config = { ...loadConfig({ NODE_ENV: 'test' }), ...overrides };
  const cacheAccess = new CacheAccess({ cache: createCache(), enabled: true, fallbackConcurrency: 4, isRedisHealthy: () => true });
  // The limiter reads only config and cacheAccess.
  return { config, cacheAccess } as unknown as AppDeps;
}

function spyLogger(): FastifyBaseLogger & { warnings: string[] } {
  const warnings: string[] = [];
  const noop = (): void => undefined;
  const logger = { warnings, warn: (_o: unknown, msg: string) => warnings.push(msg), info: noop, error: noop, debug: noop, fatal: noop, trace: noop, silent: noop, level: 'info' };
  return { ...logger, child: () => logger } as unknown as FastifyBaseLogger & { warnings: string[] };
}

async function writeApp(deps: AppDeps) {
  const app = Fastify();
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (req) => {
    req.auth = { userId: Number(req.headers['x-user']), tokenHash: 'x' };
  });
  app.addHook('onRequest', limitWrites(deps, new RateLimiter(deps)));
  app.setErrorHandler((err, _req, reply) => (err instanceof HttpError ? reply.code(err.statusCode).headers(err.headers).send({ error: err.code }) : reply.code(500).send()));
  app.get('/x', async () => ({ ok: true }));
  app.post('/x', async () => ({ ok: true }));
  await app.ready();
  return app;
}

describe('write rate limit per user', () => {
  it('allows WRITE_RATE_LIMIT_PER_USER writes per window, then 429 with Retry-After; reads and other users are not counted', async () => {
    const deps = depsWith({ writeRateLimitPerUser: 3, rateLimitWindowSeconds: 30 });
    const app = await writeApp(deps);
    const post = (user: number) => app.inject({ method: 'POST', url: '/x', headers: { 'x-user': String(user) } });
    for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/x', headers: { 'x-user': '1' } })).statusCode).toBe(200);
    expect([(await post(1)).statusCode, (await post(1)).statusCode, (await post(1)).statusCode]).toEqual([200, 200, 200]);
    const limited = await post(1);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ error: 'E_RATE_LIMITED' });
    const retry = Number(limited.headers['retry-after']);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(30);
    expect((await post(2)).statusCode).toBe(200);
    await app.close();
    await deps.cacheAccess.cache.close();
  });
});

describe('RateLimiter', () => {
  it('fails open when the counter cannot be read, and logs it once', async () => {
    const deps = depsWith({});
    const limiter = new RateLimiter(deps);
    const log = spyLogger();
    await deps.cacheAccess.cache.close(); // every incr now throws
    for (let i = 0; i < 5; i++) await expect(limiter.hit('login-ip', '127.0.0.1', 1, log)).resolves.toBeUndefined();
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toMatch(/without rate limiting/);
  });

  it('keeps a subject that holds ":" or "*" (IPv6, odd emails) in its own counter', async () => {
    const deps = depsWith({});
    const limiter = new RateLimiter(deps);
    const log = spyLogger();
    await limiter.hit('login-ip', '::1', 1, log);
    await expect(limiter.hit('login-ip', '::2', 1, log)).resolves.toBeUndefined();
    await expect(limiter.hit('login-account', 'a*@example.com', 1, log)).resolves.toBeUndefined();
    await expect(limiter.hit('login-ip', '::1', 1, log)).rejects.toMatchObject({ statusCode: 429 });
    await deps.cacheAccess.cache.close();
  });
});
