/**
 * /dashboard through app.inject: who may open it (production without DASHBOARD_TOKEN: 404;
 * with it: the token by header, or once by `?token=` then a cookie; development: loopback
 * only), and the data the page polls, which must move with traffic and carry the cache's
 * failures without secrets. The browser test (dashboard.browser.test.ts) checks the page itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../../src/app/app.ts';
import { ConfigError, loadConfig, type AppConfig } from '../../../src/app/config.ts';
import { RecentErrors, redactSecrets } from '../../../src/app/dashboard/recent-errors.ts';
import type { DashboardSnapshot } from '../../../src/app/dashboard/snapshot.ts';
import { domainOfRoute, trackNodeRecoveries } from '../../../src/app/dashboard/snapshot.ts';
import { CommandTimeoutError, RedisUnavailableError } from '../../../src/cache/index.ts';
import { bearer, createTestApp, type TestApp } from '../../helpers/app.ts';

const TOKEN = 'dashboard-token-for-tests-0123456789';
let t: TestApp;
const extra: App[] = [];

beforeAll(async () => {
  t = await createTestApp({ users: 20, config: { nodeEnv: 'development' } });
});
afterAll(async () => {
  await Promise.all(extra.map((a) => a.close()));
  await t?.close();
});

/** Another app on the same deps with other settings (buildApp is cheap; the database is shared). */
async function appWith(config: Partial<AppConfig>): Promise<App> {
  const app = await buildApp({ ...t.deps, config: { ...t.config, ...config } });
  extra.push(app);
  return app;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('dashboard access', () => {
  it('production without DASHBOARD_TOKEN: the page and its data do not exist (404)', async () => {
    const app = await appWith({ nodeEnv: 'production', dashboardToken: undefined });
    for (const url of ['/dashboard', '/dashboard/data', `/dashboard?token=${TOKEN}`]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json<{ error: string }>().error).toBe('E_NOT_FOUND');
    }
  });

  it('production with DASHBOARD_TOKEN: 401 without it or with a wrong one, 200 with the bearer token', async () => {
    const app = await appWith({ nodeEnv: 'production', dashboardToken: TOKEN });
    for (const headers of [{}, bearer(`${TOKEN}x`), bearer('short')]) {
      for (const url of ['/dashboard', '/dashboard/data']) {
        const res = await app.inject({ method: 'GET', url, headers });
        expect(res.statusCode, url).toBe(401);
        expect(res.json<{ error: string; message: string }>().message).toContain('DASHBOARD_TOKEN');
      }
    }
    expect((await app.inject({ method: 'GET', url: `/dashboard?token=${TOKEN}x` })).statusCode).toBe(401);
    const page = await app.inject({ method: 'GET', url: '/dashboard', headers: bearer(TOKEN) });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('id="chart-hits"');
    const data = await app.inject({ method: 'GET', url: '/dashboard/data', headers: bearer(TOKEN) });
    expect(data.statusCode).toBe(200);
  });

  it('?token= once: a cookie that is not the token, a redirect without it, then the cookie alone opens page and data', async () => {
    const app = await appWith({ nodeEnv: 'production', dashboardToken: TOKEN });
    const res = await app.inject({ method: 'GET', url: `/dashboard?token=${TOKEN}` });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/dashboard');
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^dashboard_session=[^;]+; Path=\/dashboard; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(';')[0] as string;
    expect((await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/dashboard/data', headers: { cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/dashboard/data', headers: { cookie: `${cookie}x` } })).statusCode).toBe(401);
    // A cookie made for another token does not open this one.
    const other = await appWith({ nodeEnv: 'production', dashboardToken: `${TOKEN}-other` });
    expect((await other.inject({ method: 'GET', url: '/dashboard/data', headers: { cookie } })).statusCode).toBe(401);
  });

  it('development without a token: open from loopback, 403 from elsewhere or through an untrusted proxy', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/dashboard' });
    expect(page.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/dashboard/data', remoteAddress: '::1' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/dashboard', remoteAddress: '203.0.113.9' })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/dashboard/data', remoteAddress: '10.0.0.5' })).statusCode).toBe(403);
    const proxied = await t.app.inject({ method: 'GET', url: '/dashboard', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(proxied.statusCode).toBe(403);
    expect(proxied.json<{ message: string }>().message).toContain('loopback');
  });

  it('development with DASHBOARD_TOKEN set: the token is required, from loopback too', async () => {
    const app = await appWith({ nodeEnv: 'development', dashboardToken: TOKEN });
    expect((await app.inject({ method: 'GET', url: '/dashboard' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/dashboard', headers: bearer(TOKEN) })).statusCode).toBe(200);
  });

  it('the page runs under a strict CSP: its one script and style by hash, nothing inline otherwise', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/dashboard' });
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.match(/<script>/g)).toHaveLength(1);
    expect(res.body).not.toMatch(/ style="/);
  });

  it('DASHBOARD_TOKEN shorter than 32 characters or with whitespace is a configuration error naming it', () => {
    for (const bad of ['too-short', `${TOKEN} with spaces`]) {
      expect(() => loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', DASHBOARD_TOKEN: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', DASHBOARD_TOKEN: bad })).toThrow(/DASHBOARD_TOKEN must be at least 32 characters/);
    }
    expect(loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', DASHBOARD_TOKEN: TOKEN }).dashboardToken).toBe(TOKEN);
    expect(loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:1', DASHBOARD_TOKEN: '' }).dashboardToken).toBeUndefined();
  });
});

describe('dashboard data', () => {
  const data = async (since?: number): Promise<DashboardSnapshot> => {
    const res = await t.app.inject({ method: 'GET', url: since === undefined ? '/dashboard/data' : `/dashboard/data?since=${since}` });
    expect(res.statusCode).toBe(200);
    return res.json<DashboardSnapshot>();
  };
  /** Polls the data until `ok` holds (the sampler reads once a second). */
  const until = async (ok: (s: DashboardSnapshot) => boolean, what: string): Promise<DashboardSnapshot> => {
    let last: DashboardSnapshot | undefined;
    for (let i = 0; i < 40; i++) {
      last = await data();
      if (ok(last)) return last;
      await sleep(250);
    }
    throw new Error(`dashboard data never showed ${what}: ${JSON.stringify(last)}`);
  };

  it('moves with traffic: hits, namespaces, requests and database reads per second by domain', async () => {
    const before = await data();
    expect(before.sampleIntervalMs).toBe(1000);
    expect(before.windowSeconds).toBe(600);
    expect(before.redis).toMatchObject({ mode: 'redis', topology: 'single', state: 'ready', healthy: true });
    expect(before.fallback.limit).toBe(t.config.dbFallbackConcurrency);
    const token = await t.loginAs(1);
    for (let round = 0; round < 3; round++) {
      for (let id = 1; id <= 10; id++) expect((await t.app.inject({ method: 'GET', url: `/users/${id}`, headers: bearer(token) })).statusCode).toBe(200);
    }
    const after = await until(
      (s) => s.cache.hits > before.cache.hits && s.samples.some((x) => (x.requestsPerSecond['users'] ?? 0) > 0 && (x.dbReadsPerSecond['users'] ?? 0) > 0),
      'the users traffic',
    );
    expect(after.cache.misses).toBeGreaterThan(before.cache.misses);
    expect(after.cache.l2Hits).toBe(after.cache.hits - after.cache.l1Hits);
    expect(after.cache.keys).toBeGreaterThan(0);
    const users = after.namespaces.find((n) => n.namespace === 'user');
    expect(users?.hits).toBeGreaterThan(0);
    expect(users?.misses).toBeGreaterThan(0);
    // The dashboard's own polls are not charted as traffic.
    expect(after.samples.every((x) => x.requestsPerSecond['dashboard'] === undefined)).toBe(true);
    // `since` returns only what came after: what the page asks for once it has history.
    const newest = after.samples.at(-1)?.atMs ?? 0;
    const tail = await data(newest);
    expect(tail.samples.every((x) => x.atMs > newest)).toBe(true);
    expect(tail.samples.length).toBeLessThan(after.samples.length);
  });

  it('lists the cache failures with their code and namespace, and no key', async () => {
    const token = await t.loginAs(2);
    const before = await data();
    t.redisServer.freeze();
    try {
      // Each read times out after redisCommandTimeoutMs and is answered from the database.
      for (let id = 11; id <= 13; id++) expect((await t.app.inject({ method: 'GET', url: `/users/${id}`, headers: bearer(token) })).statusCode).toBe(200);
    } finally {
      t.redisServer.resume();
    }
    // The list is read live; the cache's counters come with the next sample.
    const after = await until((s) => s.errors.total > before.errors.total && s.cache.errors > before.cache.errors, 'the failures');
    const entry = after.errors.recent[0];
    expect(entry?.code).toMatch(/^E_(COMMAND_TIMEOUT|REDIS_UNAVAILABLE)$/);
    expect(after.errors.recent.some((e) => e.namespace === 'user')).toBe(true);
    expect(JSON.stringify(after.errors)).not.toMatch(/user:1[123]/);
    expect(after.namespaces.find((n) => n.namespace === 'user')?.errors).toBeGreaterThan(0);
  });

  // Last in the file: it kills the file's redis-server (and starts it again).
  it('counts reconnects per node: Redis killed and restarted shows the node down, then back with one reconnect', async () => {
    // The test app's status lists no nodes (server.ts's connection does): this one lists the
    // file's Redis, in the state of the cache's real client.
    const address = `127.0.0.1:${t.redisServer.port}`;
    const app = await buildApp({
      ...t.deps,
      redisStatus: () => {
        const r = t.deps.redisStatus();
        return { ...r, nodes: [{ address, role: 'master', state: r.healthy ? 'ready' : 'reconnecting', observedVia: 'client' }] };
      },
    });
    extra.push(app);
    const nodeNow = async (): Promise<DashboardSnapshot['redis']['nodes'][number] | undefined> =>
      (await app.inject({ method: 'GET', url: '/dashboard/data' })).json<DashboardSnapshot>().redis.nodes[0];
    expect(await nodeNow()).toEqual({ address, role: 'master', state: 'ready', observedVia: 'client', recoveries: 0 });
    await t.redisServer.kill();
    try {
      // Down for a few samples, so the sampler (once a second) sees it.
      await expect.poll(async () => (await nodeNow())?.state, { timeout: 10_000, interval: 200 }).toBe('reconnecting');
      await sleep(1500);
    } finally {
      await t.redisServer.restart();
    }
    await expect.poll(async () => await nodeNow(), { timeout: 15_000, interval: 250 }).toEqual({ address, role: 'master', state: 'ready', observedVia: 'client', recoveries: 1 });
  });
});

describe('recent errors', () => {
  it('masks URL credentials, passwords and bearer tokens in messages', () => {
    expect(redactSecrets('connect to redis://app:s3cret@10.0.0.1:6379 failed')).toBe('connect to redis://****@10.0.0.1:6379 failed');
    expect(redactSecrets('rediss://:pw@host')).toBe('rediss://****@host');
    expect(redactSecrets('AUTH failed password=hunter2, retrying')).toBe('AUTH failed password=****, retrying');
    expect(redactSecrets('header Bearer abc.def')).toBe('header Bearer ****');
    expect(redactSecrets('Redis get got no answer within 300 ms')).toBe('Redis get got no answer within 300 ms');
  });

  it('keeps the newest first, folds a repeated failure into a count, and drops the oldest past capacity', () => {
    let now = 1000;
    const log = new RecentErrors({ capacity: 2, now: () => now });
    log.record({ operation: 'get', key: 'user:7:profile', error: new CommandTimeoutError('get', 300) });
    now = 2000;
    log.record({ operation: 'get', key: 'user:8:profile', error: new CommandTimeoutError('get', 300) });
    expect(log.list()).toEqual([{ atMs: 2000, firstAtMs: 1000, code: 'E_COMMAND_TIMEOUT', operation: 'get', namespace: 'user', message: 'Redis get got no answer within 300 ms', count: 2 }]);
    log.record({ operation: 'connect', key: undefined, error: new RedisUnavailableError('redis://u:pw@h:1 refused') });
    log.record({ operation: 'set', key: 'guild:1', error: new CommandTimeoutError('set', 300) });
    expect(log.list().map((e) => [e.code, e.namespace, e.message])).toEqual([
      ['E_COMMAND_TIMEOUT', 'guild', 'Redis set got no answer within 300 ms'],
      ['E_REDIS_UNAVAILABLE', '_connection', 'redis://****@h:1 refused'],
    ]);
    expect(log.total).toBe(4);
  });

  it('counts a node back to ready after any other state as one reconnect, per node', () => {
    const seen = new Map<string, { state: string; recoveries: number }>();
    trackNodeRecoveries(seen, [{ address: 'a:1', state: 'ready' }, { address: 'b:1', state: 'connecting' }]);
    trackNodeRecoveries(seen, [{ address: 'a:1', state: 'reconnecting' }, { address: 'b:1', state: 'ready' }]);
    trackNodeRecoveries(seen, [{ address: 'a:1', state: 'down' }, { address: 'b:1', state: 'ready' }]);
    trackNodeRecoveries(seen, [{ address: 'a:1', state: 'ready' }]);
    expect(Object.fromEntries(seen)).toEqual({ 'a:1': { state: 'ready', recoveries: 1 }, 'b:1': { state: 'ready', recoveries: 1 } });
  });

  it('charts requests by the route\'s first segment', () => {
    expect(domainOfRoute('/users/:id')).toBe('users');
    expect(domainOfRoute('/health/ready')).toBe('health');
    expect(domainOfRoute('unmatched')).toBe('unmatched');
    expect(domainOfRoute('/')).toBe('root');
  });
});
