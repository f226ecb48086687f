/**
 * The in-process tier through Redis Sentinel (one master, one replica, three sentinels; one
 * topology for the file): the channel follows the master node-redis uses; a write through
 * another instance or a raw client evicts B's copy; a failover, asked of the sentinels (the old
 * master lives on, demoted) or forced by killing the master, empties B's L1 and moves the
 * channel to the new master, where writes are heard; a write made during the switch is what B
 * reads afterwards, never the copy it held before.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createSentinel } from 'redis';
import { createCache, RedisNodeError, type Cache } from '../../../src/cache/index.ts';
import { TrackingChannel } from '../../../src/cache/tiers/tracking.ts';
import { FAST_CHANNEL, loadIntoL1, until } from '../../helpers/l1.ts';
import { askNode, startRedisSentinel, type TestRedisSentinel } from '../../helpers/redis-topology.ts';
import { topologiesUnderTest } from '../../helpers/topologies.ts';

let sentinel: TestRedisSentinel;

const l1Of = async (c: Cache): Promise<NonNullable<Awaited<ReturnType<Cache['getStats']>>['l1']>> => {
  const l1 = (await c.getStats()).l1;
  if (l1 === null) throw new Error('l1 is off');
  return l1;
};

/** B tracks exactly the server on `port`, and L1 is in use. */
const tracks = async (c: Cache, port: number): Promise<boolean> => {
  const l1 = await l1Of(c);
  return l1.channel === 'up' && l1.channels.length === 1 && l1.channels[0]?.address === `127.0.0.1:${port}` && l1.channels[0].state === 'up';
};

describe.runIf(topologiesUnderTest().includes('sentinel'))('the in-process tier through Redis Sentinel', () => {
  beforeAll(async () => {
    // A short failover-timeout: a sentinel waits twice that long before it fails the same master over again.
    sentinel = await startRedisSentinel({ failoverTimeoutMs: 2000 });
  }, 60_000);

  afterAll(async () => {
    await sentinel?.stop();
  });

  /**
   * A on a Sentinel client the cache creates (`sentinel: {…}`), B on one the test creates and
   * passes (`redis`, with `l1.sentinelNodeClient`, as the backend does): both ways of reaching
   * the master's channel.
   */
  async function pair(): Promise<{ a: Cache; b: Cache; prefix: string; close: () => Promise<void> }> {
    const prefix = `l1s${randomBytes(3).toString('hex')}:`;
    const common = { prefix, commandTimeoutMs: 300, breakerCooldownMs: 50 };
    const auth = sentinel.password === undefined ? {} : { password: sentinel.password };
    const a = createCache({ ...common, sentinel: { name: sentinel.name, sentinelRootNodes: sentinel.sentinelRootNodes }, l1: { ...FAST_CHANNEL } });
    const passed = createSentinel({ name: sentinel.name, sentinelRootNodes: sentinel.sentinelRootNodes, nodeClientOptions: { ...auth } });
    passed.on('error', () => undefined);
    await passed.connect();
    const b = createCache({
      ...common,
      redis: passed,
      l1: { ...FAST_CHANNEL, sentinelNodeClient: ({ host, port }) => createClient({ ...auth, RESP: 2, socket: { host, port } }) },
    });
    for (const c of [a, b]) await c.ready(10_000);
    const master = await sentinel.currentMaster();
    for (const c of [a, b]) await until('the channel is up on the master', () => tracks(c, master.port), 10_000);
    return {
      a,
      b,
      prefix,
      close: async () => {
        for (const c of [a, b]) await c.idle();
        for (const c of [a, b]) await c.close();
        await passed.close().catch(() => passed.destroy());
      },
    };
  }

  /** Reads until B answers (a read may meet the switch or the breaker's cooldown), then returns what it got. */
  async function readB(b: Cache, key: string): Promise<unknown> {
    let got: unknown;
    await until(
      `B answers ${key} from Redis or L1`,
      async () => {
        const r = await b.getOrSetWithMeta(key, () => 'fetched', 60);
        got = r.value;
        return r.status === 'hit';
      },
      10_000,
    );
    return got;
  }

  it('a channel whose node is a replica never comes up: ROLE is checked before it subscribes, and the refusal names the node', async () => {
    const replica = sentinel.replica;
    const errors: unknown[] = [];
    let ups = 0;
    const channel = new TrackingChannel(
      {
        prefix: 'l1s-role:',
        ...FAST_CHANNEL,
        connect: () => createClient({ RESP: 2, socket: { host: '127.0.0.1', port: replica.port }, ...(sentinel.password === undefined ? {} : { password: sentinel.password }) }),
        requireMaster: `127.0.0.1:${replica.port}`,
        onError: (err) => errors.push(err),
      },
      { onKey: () => undefined, onFlush: () => undefined, onUp: () => ups++, onDown: () => undefined },
    );
    try {
      await until('the refusal is reported twice (it keeps retrying)', () => errors.length >= 2);
      expect(errors[0]).toBeInstanceOf(RedisNodeError);
      expect(errors[0]).toMatchObject({ code: 'E_REDIS_NODE', address: `127.0.0.1:${replica.port}` });
      expect(String((errors[0] as Error).message)).toMatch(/slave|replica/);
      expect(ups).toBe(0);
      expect(channel.state).not.toBe('up');
    } finally {
      await channel.close();
    }
  });

  it("tracks the master; a set on A and a raw DEL on the master evict B's copy", async () => {
    const { a, b, prefix, close } = await pair();
    try {
      const master = await sentinel.currentMaster();
      await a.set('guild:1', { v: 'old' }, 60);
      await loadIntoL1(b, 'guild:1', { v: 'old' });
      await a.set('guild:1', { v: 'new' }, 60);
      await until("B hears A's set", async () => JSON.stringify(await b.getOrSet('guild:1', () => 'fetched', 60)) === JSON.stringify({ v: 'new' }));
      await loadIntoL1(b, 'guild:1', { v: 'new' });
      await askNode(master.port, ['DEL', `${prefix}guild:1`], { password: sentinel.password });
      await until('B hears the raw DEL', async () => (await b.getOrSet('guild:1', () => 'fetched', 60)) === 'fetched');
    } finally {
      await close();
    }
  }, 30_000);

  it('a failover asked of the sentinels (the old master lives on as a replica): L1 emptied, the channel moves to the new master, whose writes are heard', async () => {
    const { a, b, prefix, close } = await pair();
    try {
      const old = await sentinel.currentMaster();
      await a.set('guild:2', { v: 1 }, 60);
      await loadIntoL1(b, 'guild:2', { v: 1 });
      const flushes = (await l1Of(b)).flushes;
      await askNode(sentinel.sentinels[0]?.port ?? 0, ['SENTINEL', 'FAILOVER', sentinel.name]);
      const promoted = await sentinel.waitForFailover(old.port, 30_000);
      await until('B tracks the new master', () => tracks(b, promoted.port), 15_000);
      expect((await l1Of(b)).flushes).toBeGreaterThan(flushes);
      expect(await readB(b, 'guild:2')).toEqual({ v: 1 });
      await loadIntoL1(b, 'guild:2', { v: 1 }, 5000);
      await askNode(promoted.port, ['SET', `${prefix}guild:2`, 'written on the new master'], { password: sentinel.password });
      await until('B hears the write on the new master', async () => (await b.getOrSet('guild:2', () => 'fetched', 60)) === 'fetched');
    } finally {
      await close();
    }
  }, 60_000);

  it('the master killed: L1 emptied at once and bypassed until the new master has a channel; a write made meanwhile is what B reads after', async () => {
    const { a, b, prefix, close } = await pair();
    try {
      await a.set('guild:3', { v: 'before' }, 60);
      await loadIntoL1(b, 'guild:3', { v: 'before' });
      const flushes = (await l1Of(b)).flushes;
      const killed = await sentinel.killMaster();
      await until('B noticed', async () => (await l1Of(b)).channel !== 'up' && (await l1Of(b)).flushes > flushes);
      expect((await l1Of(b)).entries).toBe(0);
      const promoted = await sentinel.waitForFailover(killed.port, 30_000);
      // Written on the new master by someone else, possibly before B has a channel there.
      await askNode(promoted.port, ['SET', `${prefix}guild:3`, 'written after the failover'], { password: sentinel.password });
      await until('B tracks the new master', () => tracks(b, promoted.port), 15_000);
      // Never the copy L1 held before: the stored text is not an entry, so B falls to the fetcher.
      await until('B reads the new master', async () => (await b.getOrSet('guild:3', () => 'fetched', 60)) === 'fetched', 10_000);
      // L1 works on the new master: loaded, then evicted by a write there.
      // A's own client may still be moving to the new master: set resolves false until it has.
      await until('A writes to the new master', () => a.set('guild:4', { v: 4 }, 60), 10_000);
      await loadIntoL1(b, 'guild:4', { v: 4 }, 5000);
      await askNode(promoted.port, ['DEL', `${prefix}guild:4`], { password: sentinel.password });
      await until('B hears the DEL on the new master', async () => (await b.getOrSet('guild:4', () => 'fetched', 60)) === 'fetched');
    } finally {
      await close();
    }
  }, 60_000);
});
