/**
 * The backend with the in-process tier (CACHE_L1=true): two instances, A and B, on one Redis,
 * cache prefix and database, as two servers behind a load balancer. Guilds, leaderboards and
 * sessions are served from L1 on a repeated read; a write through the API on one instance evicts
 * the other's copy (guild membership, log-out); balances and rate-limit counters never enter L1;
 * /metrics and /health show the tier. SQL only: L1 does not depend on the database.
 *
 * Reading the tier from the outside: `l1Hits` is one total per cache, and every authenticated
 * request also reads its session (an L1 namespace), so each request's L1 hits are counted with
 * its session already in L1 (`sessionInL1`), and an exact count then says where the rest came from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheKeys } from '../../src/cache/index.ts';
import { namespaceOf } from '../../src/cache/keys.ts';
import { L1_NAMESPACES, L1_POLICY, READ_OPTIONS, l1CacheOptions } from '../../src/app/cache-policy.ts';
import { bearer, createTestApp, type TestApp } from '../helpers/app.ts';

let a: TestApp;
let b: TestApp;

/** Resolves once `check` holds, polling every 5 ms; fails after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeAll(async () => {
  a = await createTestApp({ users: 60, config: { cacheL1: true } });
  b = await createTestApp({ shareWith: a, config: { cacheL1: true } });
  for (const t of [a, b]) await until('the L1 channel is up', async () => (await t.cache().getStats()).l1?.channel === 'up');
}, 60_000);
afterAll(async () => {
  await b?.close();
  await a?.close();
});

const l1Hits = async (t: TestApp): Promise<number> => (await t.cache().getStats()).l1Hits;

/** One request on `t`, and the L1 hits it added. */
async function send(t: TestApp, method: 'GET' | 'DELETE', url: string, token: string): Promise<{ status: number; xCache: unknown; body: unknown; l1: number }> {
  const before = await l1Hits(t);
  const res = await t.app.inject({ method, url, headers: bearer(token) });
  return { status: res.statusCode, xCache: res.headers['x-cache'], body: res.body === '' ? undefined : res.json(), l1: (await l1Hits(t)) - before };
}

let marks = 0;

/**
 * Returns once `t` has heard every change made in Redis before the call. Redis reports changes
 * to an instance in order, on one connection: a marker key is put in t's L1, changed from the
 * other instance, and read on `t` until t stops serving its copy; every report sent before that
 * change has then been heard too. Without it, a read sent just after a write can race the
 * write's own report, and L1 rightly refuses to keep it.
 */
async function heardAll(t: TestApp): Promise<void> {
  const other = t === a ? b : a;
  const key = 'guild:0:mark';
  await Promise.all([a.cache().idle(), b.cache().idle()]);
  const first = ++marks;
  await other.cache().set(key, first, 60);
  await until('the marker is in L1', async () => {
    const before = await l1Hits(t);
    return (await t.cache().get(key)) === first && (await l1Hits(t)) === before + 1;
  });
  const second = ++marks;
  await other.cache().set(key, second, 60);
  await until('the marker change is heard', async () => (await t.cache().get(key)) === second);
}

/** Reads until `token`'s session is served from t's L1 (notifications, which are not in L1, carry no L1 hit of their own). */
async function sessionInL1(t: TestApp, token: string): Promise<void> {
  await until('the session is in L1', async () => (await send(t, 'GET', '/notifications', token)).l1 === 1);
}

describe('the in-process tier in the backend (CACHE_L1=true)', () => {
  it('serves the second of two reads of a guild from L1 (the first comes from Redis and is kept)', async () => {
    const token = await a.loginAs(2);
    await sessionInL1(a, token);
    const miss = await send(a, 'GET', '/guilds/1', token);
    expect(miss).toMatchObject({ status: 200, xCache: 'MISS', l1: 1 });
    await heardAll(a);
    const fromRedis = await send(a, 'GET', '/guilds/1', token);
    const fromL1 = await send(a, 'GET', '/guilds/1', token);
    // Each counts its session's L1 hit; the second also the guild's.
    expect(fromRedis).toMatchObject({ status: 200, xCache: 'HIT', l1: 1 });
    expect(fromL1).toMatchObject({ status: 200, xCache: 'HIT', l1: 2 });
    expect(fromL1.body).toEqual(miss.body);
    const stats = await a.cache().getStats();
    expect(stats.l1Hits + stats.l2Hits).toBe(stats.hits);
    expect(stats.l1?.entries).toBeGreaterThanOrEqual(2);
  });

  it("a guild update through the API on A evicts B's L1 copy", async () => {
    const reader = await b.loginAs(4);
    const leaver = await a.loginAs(3);
    await sessionInL1(b, reader);
    await heardAll(b);
    await send(b, 'GET', '/guilds/1', reader);
    const cached = await send(b, 'GET', '/guilds/1', reader);
    expect(cached).toMatchObject({ status: 200, xCache: 'HIT', l1: 2 });
    const { memberCount } = cached.body as { memberCount: number };

    const invalidationsBefore = (await b.cache().getStats()).l1?.invalidations ?? 0;
    expect((await send(a, 'DELETE', '/guilds/1/members/3', leaver)).status).toBe(204);
    await heardAll(b);
    expect((await b.cache().getStats()).l1?.invalidations).toBeGreaterThan(invalidationsBefore);
    const after = await send(b, 'GET', '/guilds/1', reader);
    expect(after).toMatchObject({ status: 200, xCache: 'MISS', l1: 1 });
    expect(after.body).toMatchObject({ id: 1, memberCount: memberCount - 1 });
  });

  it('a log-out on A is refused on B once Redis has reported it, though B had the session in L1', async () => {
    const token = await a.loginAs(6);
    await sessionInL1(b, token);
    expect((await send(a, 'DELETE', '/sessions/current', token)).status).toBe(204);
    await heardAll(b);
    expect((await send(b, 'GET', '/notifications', token)).status).toBe(401);
  });

  it('never serves a wallet balance, a rate-limit counter or a namespace without a decision from L1', async () => {
    const token = await b.loginAs(5);
    await sessionInL1(b, token);
    const first = await send(b, 'GET', '/wallets/5/balance', token);
    expect(first).toMatchObject({ status: 200, xCache: 'MISS', l1: 1 });
    await heardAll(b);
    for (let i = 0; i < 3; i++) {
      // The session's hit only: the balance comes from Redis every time.
      expect(await send(b, 'GET', '/wallets/5/balance', token)).toMatchObject({ status: 200, xCache: 'HIT', l1: 1, body: first.body });
    }

    // Each guard alone: the library's exclusion (get, getOrSet without `l1: false`) and
    // CacheAccess's per-read choice (a namespace with no L1_POLICY entry).
    const cache = b.cache();
    await cache.incr(CacheKeys.rateLimit('203.0.113.9', 'writes'), 1, 60);
    await b.deps.cacheAccess.read('misc:1', async () => ({ n: 1 }), 60);
    await heardAll(b);
    const before = await l1Hits(b);
    for (let i = 0; i < 3; i++) {
      expect(await cache.get(CacheKeys.walletBalance(5))).toEqual(first.body);
      expect(await cache.getOrSet(CacheKeys.walletBalance(5), () => ({ balance: -1 }), 30)).toEqual(first.body);
      expect(await cache.get(CacheKeys.rateLimit('203.0.113.9', 'writes'))).toBe(1);
      expect((await b.deps.cacheAccess.read('misc:1', async () => ({ n: 2 }), 60)).value).toEqual({ n: 1 });
    }
    expect(await l1Hits(b)).toBe(before);
  });

  it('decides L1 for every namespace the backend writes: sessions, guilds and leaderboards only, never balances or counters', () => {
    const builders = Object.values(CacheKeys) as Array<(id: string, n: number) => string>;
    for (const build of builders) expect(Object.keys(L1_POLICY), build.name).toContain(namespaceOf(build('1', 1)));
    expect([...L1_NAMESPACES].sort()).toEqual(['guild', 'leaderboard', 'session']);
    expect(READ_OPTIONS.walletBalance.l1).toBe(false);
    expect(l1CacheOptions({ cacheL1: false, cacheL1MaxEntries: 1, cacheL1MaxBytes: 1024 })).toBe(false);
    const on = l1CacheOptions({ cacheL1: true, cacheL1MaxEntries: 5, cacheL1MaxBytes: 4096 });
    expect(on).toMatchObject({ maxEntries: 5, maxBytes: 4096 });
    expect(on === false ? [] : on.excludeNamespaces).toEqual(expect.arrayContaining(['wallet', 'ratelimit']));
    expect(on === false ? [] : on.excludeNamespaces).not.toEqual(expect.arrayContaining(['session']));
  });

  it('/metrics splits hits by tier and shows the tier, from one getStats per scrape', async () => {
    const token = await b.loginAs(8);
    await sessionInL1(b, token);
    const value = (body: string, series: string): number => {
      const line = body.split('\n').find((l) => l.startsWith(`${series} `));
      if (line === undefined) throw new Error(`no ${series} in /metrics`);
      return Number(line.slice(series.length + 1));
    };
    const sum = (body: string, metric: string): number =>
      body
        .split('\n')
        .filter((l) => l.startsWith(`${metric}{`))
        .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const stats = await b.cache().getStats();
    const dbsize = await b.redisCalls('dbsize');
    const body = (await b.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(await b.redisCalls('dbsize')).toBe(dbsize + 1);

    expect(value(body, 'cache_l1_enabled')).toBe(1);
    expect(value(body, 'cache_l1_channel_up')).toBe(1);
    // One Redis: one node channel, up, named by the address the tier tracks.
    const nodeChannels = body.split('\n').filter((l) => l.startsWith('cache_l1_node_channel_up{'));
    expect(nodeChannels).toEqual([`cache_l1_node_channel_up{node="${stats.l1?.channels[0]?.address ?? 'none'}"} 1`]);
    // B's first scrape: the counters hold the totals so far.
    expect(value(body, 'cache_l1_hits_total')).toBe(stats.l1Hits);
    expect(value(body, 'cache_l2_hits_total')).toBe(stats.l2Hits);
    expect(stats.l1Hits).toBeGreaterThan(0);
    expect(sum(body, 'cache_hits_total')).toBe(stats.l1Hits + stats.l2Hits);
    expect(value(body, 'cache_l1_entries')).toBe(stats.l1?.entries);
    expect(value(body, 'cache_l1_entries')).toBeGreaterThan(0);
    expect(value(body, 'cache_l1_bytes')).toBeGreaterThan(0);
    expect(value(body, 'cache_l1_bytes')).toBeLessThanOrEqual(b.config.cacheL1MaxBytes);
    expect(value(body, 'cache_l1_invalidations_total')).toBe(stats.l1?.invalidations);
    expect(value(body, 'cache_l1_evictions_total')).toBe(0);
    expect(value(body, 'cache_l1_flushes_total')).toBe(stats.l1?.flushes);
    expect(value(body, 'cache_l1_channel_reconnects_total')).toBe(0);

    // Counters move by what happened between scrapes: one request, its session from L1.
    await send(b, 'GET', '/notifications', token);
    const next = (await b.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(value(next, 'cache_l1_hits_total')).toBe(stats.l1Hits + 1);
  });

  it('/health reports the L1 block with its bounds and namespaces', async () => {
    const health = (await b.app.inject({ method: 'GET', url: '/health' })).json<{ cache: { l1Hits: number; l2Hits: number; l1: unknown } }>();
    expect(health.cache.l1Hits).toBeGreaterThan(0);
    expect(health.cache.l2Hits).toBeGreaterThan(0);
    expect(health.cache.l1).toMatchObject({
      channel: 'up',
      channelReconnects: 0,
      entries: expect.any(Number) as number,
      bytes: expect.any(Number) as number,
      evictions: 0,
      maxEntries: 10_000,
      maxBytes: 64 * 1024 * 1024,
      namespaces: expect.arrayContaining(['session', 'guild', 'leaderboard']) as string[],
    });
  });
});
