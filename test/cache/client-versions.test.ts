/**
 * A client of each supported node-redis version (5.0, the package's own 5.x, 6 on RESP2 and
 * RESP3), passed to createCache while still connecting, serves the cache's core semantics on one
 * Redis, a cluster and Sentinel; node-redis 4, and a cluster client older than 5.1.1, are refused
 * with the reason. The other versions are separate copies of node-redis (npm aliases), so error
 * replies are instances of another ErrorReply class than the cache's own.
 */
import { randomBytes } from 'node:crypto';
import * as v4 from 'redis-v4';
import { expect, it, vi } from 'vitest';
import { createCache, type CacheErrorEvent } from '../../src/cache/index.ts';
import { CLIENT_VERSIONS, passedClientFor, type ClientVersion } from '../helpers/client-versions.ts';
import { describeEachTopology, SUITE_COMMAND_TIMEOUT_MS, type RunningTopology } from '../helpers/topologies.ts';

const TTL = 60;

/**
 * Two caches on the one client (two instances of an app sharing it), then: set/get, a miss under
 * a lease another instance waits on, a hit, del, invalidateTags, invalidatePattern, counters, and
 * error replies (a key holding a hash).
 */
async function coreSemantics(t: RunningTopology, version: ClientVersion): Promise<void> {
  const client = passedClientFor(version, t.cacheOptions);
  client.on('error', () => {});
  const connecting = client.connect();
  const errors: CacheErrorEvent[] = [];
  const prefix = `cv${randomBytes(3).toString('hex')}:`;
  const options = {
    redis: client,
    prefix,
    commandTimeoutMs: SUITE_COMMAND_TIMEOUT_MS,
    // Cluster and Sentinel have a replica: invalidations and lease-checked writes WAIT for it, on a
    // duplicate of the passed cluster client.
    ...(t.kind === 'single' ? {} : { invalidationReplicas: 1, invalidationReplicaTimeoutMs: 1000 }),
    onError: (e: CacheErrorEvent) => errors.push(e),
  };
  const a = createCache(options);
  const b = createCache(options);
  try {
    // The first calls wait for the connection the client is still making (node-redis 6's cluster
    // lists its masters before it accepts commands), and so does the first invalidation's WAIT
    // on the duplicate.
    expect(await a.set('user:1', { id: 1 }, TTL)).toBe(true);
    expect(await b.del('user:0')).toBe(0);
    await connecting;
    expect(a.topology).toBe(t.kind);
    expect(await b.get('user:1')).toEqual({ id: 1 });

    // A miss takes the lease before it fetches; the other instance waits for the value.
    let fetches = 0;
    let leaseHeld: string | null = null;
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = a.getOrSetWithMeta(
      'user:2',
      async () => {
        fetches++;
        // No entry yet: the lease is a marker (NUL, then the token) under the key itself.
        leaseHeld = await t.raw.get(prefix + 'user:2');
        await gate;
        return { id: 2 };
      },
      TTL,
    );
    await vi.waitFor(() => expect(fetches).toBe(1));
    const second = b.getOrSet('user:2', () => ++fetches, TTL);
    release();
    expect(await first).toEqual({ value: { id: 2 }, status: 'miss' });
    expect(await second).toEqual({ id: 2 });
    expect(fetches).toBe(1);
    expect(leaseHeld).toMatch(/^\0[\w-]+$/);
    // getOrSet answers before its write lands (the write replaces the marker).
    await a.idle();
    await b.idle();
    expect(await t.raw.exists(t.leaseKey(prefix + 'user:2'))).toBe(0);
    expect(await b.getOrSetWithMeta('user:2', () => ({ id: -2 }), TTL)).toEqual({ value: { id: 2 }, status: 'hit' });

    expect(await a.del('user:1')).toBe(1);
    expect(await b.get('user:1')).toBeNull();

    expect(await a.getOrSet('guild:1', () => 'before', { ttl: TTL, tags: ['guild:1'] })).toBe('before');
    await b.invalidateTags(['guild:1']);
    expect(await a.getOrSetWithMeta('guild:1', () => 'after', { ttl: TTL, tags: ['guild:1'] })).toEqual({ value: 'after', status: 'miss' });

    for (const k of ['page:1', 'page:2', 'pager']) await a.set(k, k, TTL);
    expect(await b.invalidatePattern('page:*')).toBe(2);
    expect(await a.get('page:1')).toBeNull();
    expect(await a.get('pager')).toBe('pager');

    expect(await a.incr('visits', 2, TTL)).toBe(2);
    expect(await b.decr('visits', 1, TTL)).toBe(1);
    expect(await a.ttl('visits')).toBeGreaterThan(0);

    // A key holding a hash: GET answers WRONGTYPE, which the store recognises as an error reply and
    // reads as an entry of the earlier hash form; a counter on it is a command error, not an outage.
    const now = Date.now();
    await t.raw.hSet(prefix + 'legacy', 'v', `${now + 60_000};${now + 60_000};0;0|c{"a":1}`);
    expect(await a.get('legacy')).toEqual({ a: 1 });
    await expect(a.incr('legacy')).rejects.toMatchObject({ code: 'E_REDIS_COMMAND', message: expect.stringMatching(/WRONGTYPE/) as unknown });
    expect(errors.map((e) => `${e.operation} ${e.error.code}`)).toEqual(['incr E_REDIS_COMMAND']);
  } finally {
    await a.close();
    await b.close();
  }
  expect(client.isOpen).toBe(true);
  await client.close();
}

/** The in-process tier on a passed client: its invalidation channel is a RESP2 copy of that client. */
async function inProcessTier(t: RunningTopology, version: ClientVersion): Promise<void> {
  const client = passedClientFor(version, t.cacheOptions);
  client.on('error', () => {});
  await client.connect();
  const prefix = `cv${randomBytes(3).toString('hex')}:`;
  const a = createCache({ redis: client, prefix, l1: {} });
  const b = createCache({ redis: client, prefix, l1: {} });
  const until = async (check: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 400 && !(await check()); i++) await new Promise((r) => setTimeout(r, 5));
    expect(await check()).toBe(true);
  };
  try {
    await until(async () => (await b.getStats()).l1?.channel === 'up');
    await a.set('guild:1', { v: 1 }, TTL);
    await until(async () => {
      const before = (await b.getStats()).l1Hits;
      expect(await b.getOrSet('guild:1', () => null, TTL)).toEqual({ v: 1 });
      return (await b.getStats()).l1Hits > before;
    });
    await a.set('guild:1', { v: 2 }, TTL);
    await until(async () => JSON.stringify(await b.getOrSet('guild:1', () => null, TTL)) === JSON.stringify({ v: 2 }));
    expect((await b.getStats()).errors).toBe(0);
  } finally {
    await a.close();
    await b.close();
    await client.close();
  }
}

function refused(t: RunningTopology, version: ClientVersion): void {
  const client = passedClientFor(version, t.cacheOptions);
  let thrown: unknown;
  try {
    createCache({ redis: client });
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toMatchObject({ code: 'E_INVALID_OPTIONS', message: expect.stringMatching(/upgrade redis to 5\.1\.1 or later/) as unknown });
}

describeEachTopology('a passed client of each supported node-redis version', (topology, name) => {
  for (const version of CLIENT_VERSIONS) {
    if (name === 'cluster' && !version.clusterSupported) {
      it(`${version.label}: refused, with the version to upgrade to`, () => refused(topology(), version));
    } else {
      it(`${version.label}: serves get/set, getOrSet under a lease, del, tags, patterns, counters and error replies`, () => coreSemantics(topology(), version), 30_000);
    }
    if (name === 'single' || name === 'valkey') it(`${version.label}: the in-process tier hears another instance's write`, () => inProcessTier(topology(), version), 30_000);
  }
});

it('node-redis 4: refused by the types and by createCache, which names what to do instead', () => {
  const single = v4.createClient({ url: 'redis://127.0.0.1:1' });
  const cluster = v4.createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
  // @ts-expect-error: a node-redis 4 client has no close(), which a supported client has
  expect(() => createCache({ redis: single })).toThrow(/node-redis 4 clients are not supported: pass a URL/);
  // @ts-expect-error: nor has its cluster client
  expect(() => createCache({ redis: cluster })).toThrow(/node-redis 4 clients are not supported/);
});
