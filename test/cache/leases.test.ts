/**
 * Leases against real Redis: the stale-set race of issue 5 with two cache instances on separate
 * connections (and the same race reproducing with leases off), the distributed stampede, lease
 * revocation and expiry, on one Redis, a cluster and Sentinel (describeEachTopology); and what
 * the hit and miss paths cost in commands, on one Redis (MONITOR).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cache, CacheOptions } from '../../src/cache/index.ts';
import { Cache as CacheClass, createCache } from '../../src/cache/index.ts';
import { startRedisWithClient, valkeyServerPath, type RawRedisClient, type TestRedisServer } from '../helpers/redis-server.ts';
import { deferred } from './get-or-set-contract.ts';
import { describeEachTopology, itHasNoValkey, SUITE_COMMAND_TIMEOUT_MS, type RunningTopology } from '../helpers/topologies.ts';

let server: TestRedisServer;
let raw: RawRedisClient;

beforeAll(async () => {
  ({ server, raw } = await startRedisWithClient());
});

afterAll(async () => {
  await raw.close();
  await server.stop();
});

/** The topology the cache-making helpers use: the single server by default, each topology inside describeEachTopology. */
let target: () => Pick<CacheOptions, 'redis' | 'cluster' | 'sentinel' | 'commandTimeoutMs'> = () => ({ redis: server.url });

async function caches(n: number, opts: Omit<CacheOptions, 'redis' | 'prefix'> = {}): Promise<Cache[]> {
  const prefix = `l${randomBytes(4).toString('hex')}:`;
  const list = Array.from({ length: n }, () => createCache({ ...opts, ...target(), prefix }));
  for (const c of list) await c.ready();
  return list;
}

/**
 * One cache (see caches) that has already written a key: its scripts are loaded (a first EVALSHA
 * meets NOSCRIPT) and that write has settled (it goes out after getOrSet answers), so the
 * commands a test counts next are its own.
 */
async function warmCache(opts: Omit<CacheOptions, 'redis' | 'prefix'> = {}): Promise<Cache> {
  const [c] = await caches(1, opts);
  if (c === undefined) throw new Error('no cache');
  await c.getOrSet('warm-up', () => 1, 60);
  await c.idle();
  return c;
}

async function closeAll(list: Cache[]): Promise<void> {
  for (const c of list) await c.idle();
  for (const c of list) await c.close();
}

/** Redis commands (upper-cased names) issued while fn runs, from MONITOR. */
async function commandsDuring(fn: () => Promise<unknown>, on: RawRedisClient = raw): Promise<string[]> {
  return commandNames(await linesDuring(fn, on));
}

/** The command names (upper-cased) of MONITOR lines. */
function commandNames(lines: readonly string[]): string[] {
  return lines.map((l) => (/"([A-Za-z]+)"/.exec(l)?.[1] ?? '').toUpperCase());
}

/** Resolves once the cache's lease announcements reach it (a first watch arms), as on any instance that has waited before. */
async function announcementsOpen(c: Cache): Promise<void> {
  await expect.poll(async () => {
    const w = c.store.watchLease(`${c.options.prefix}probe`);
    const armed = await w.armed;
    w.close();
    return armed;
  }, { timeout: 10_000, interval: 50 }).toBe(true);
}

/** The MONITOR lines of the commands clients sent while fn runs (not those scripts ran). */
async function linesDuring(fn: () => Promise<unknown>, on: RawRedisClient = raw): Promise<string[]> {
  const monitor = on.duplicate();
  monitor.on('error', () => {});
  await monitor.connect();
  const seen: string[] = [];
  await monitor.monitor((line) => {
    // Commands run inside scripts are listed too, as "[0 lua]" lines; keep what clients sent.
    if (line.includes(' lua]')) return;
    if (/"[A-Za-z]+"/.test(line)) seen.push(line);
  });
  await fn();
  await on.ping(); // MONITOR output is in order: once this PING shows, everything before it has too.
  await new Promise((r) => setTimeout(r, 50));
  await monitor.close();
  const end = seen.findLastIndex((l) => /"ping"/i.test(l));
  return seen.slice(0, end === -1 ? seen.length : end);
}

/**
 * The stale set: a reader misses, reads the old row and pauses; a writer updates the row and
 * deletes the key; the reader resumes and writes. Returns what the cache holds at the end.
 */
async function staleSetRace(leases: boolean, leasingReads: 'always' | 'never' = 'never'): Promise<{ cached: unknown; readerGot: unknown }> {
  const [reader, writer] = await caches(2, { leases, leasingReads });
  if (reader === undefined || writer === undefined) throw new Error('no caches');
  const table = new Map([[1, { id: 1, balance: 100 }]]);
  const readerFetched = deferred();
  const writerDone = deferred();
  const readerGot = reader.getOrSet('wallet:1:balance', async () => {
    const row = structuredClone(table.get(1));
    readerFetched.resolve();
    await writerDone.promise; // paused between the database read and the cache write
    return row;
  }, 60);
  await readerFetched.promise;
  table.set(1, { id: 1, balance: 150 }); // the writer commits first…
  await writer.del('wallet:1:balance'); // …then invalidates
  writerDone.resolve();
  const got = await readerGot;
  await reader.idle(); // getOrSet answers before its write lands: let it land (or be refused)
  const cached = await writer.get('wallet:1:balance');
  await closeAll([reader, writer]);
  return { cached, readerGot: got };
}

describeEachTopology('leases', (topology: () => RunningTopology) => {
  beforeAll(() => {
    target = () => ({ commandTimeoutMs: SUITE_COMMAND_TIMEOUT_MS, ...topology().cacheOptions });
  });
  afterAll(() => {
    target = () => ({ redis: server.url });
  });

  it('stale-set interleaving, two instances: with leases the cache ends empty or holding the new row', async () => {
    const { cached, readerGot } = await staleSetRace(true);
    expect(readerGot).toEqual({ id: 1, balance: 100 }); // began before the write: may see the old row
    expect([null, { id: 1, balance: 150 }]).toContainEqual(cached);
  });

  it('the same with leasing reads (the read itself takes the lease): the DEL revokes it, the old row is not written', async () => {
    const { cached, readerGot } = await staleSetRace(true, 'always');
    expect(readerGot).toEqual({ id: 1, balance: 100 });
    expect([null, { id: 1, balance: 150 }]).toContainEqual(cached);
  });

  it('the same interleaving with leases off reproduces the bug: the old row is cached after the delete', async () => {
    const { cached } = await staleSetRace(false);
    expect(cached).toEqual({ id: 1, balance: 100 });
  });

  it.each(['never', 'always'] as const)('4 instances × 250 concurrent getOrSet on one cold key with a 50 ms fetcher: exactly 1 fetch (leasing reads %s)', async (leasingReads) => {
    const errors = new Map<string, number>();
    const list = await caches(4, { leasingReads, onError: (e) => errors.set(`${e.operation} ${e.error.message.slice(0, 80)}`, (errors.get(`${e.operation} ${e.error.message.slice(0, 80)}`) ?? 0) + 1) });
    let fetches = 0;
    const fetcher = async (): Promise<{ rank: number[] }> => {
      fetches++;
      await new Promise((r) => setTimeout(r, 50));
      return { rank: [3, 1, 2] };
    };
    const results = await Promise.all(list.flatMap((c) => Array.from({ length: 250 }, () => c.getOrSet('leaderboard:global', fetcher, 60))));
    // On failure, say why the extra fetches happened: Redis errors (fall-through), lock time-outs, or neither.
    const why = JSON.stringify({ stats: (await Promise.all(list.map((c) => c.getStats()))).map((s) => ({ fetches: s.fetches, leaseWaits: s.leaseWaits, lockTimeouts: s.lockTimeouts, errors: s.errors })), errors: [...errors] });
    expect(fetches, why).toBe(1);
    expect(results).toHaveLength(1000);
    expect(results.every((r) => r.rank.join() === '3,1,2')).toBe(true);
    const stats = await Promise.all(list.map((c) => c.getStats()));
    expect(stats.reduce((n, s) => n + s.fetches, 0)).toBe(1);
    // Instances that arrive after the write simply hit; the others waited instead of fetching.
    expect(stats.reduce((n, s) => n + s.leaseWaits, 0)).toBeLessThanOrEqual(3);
    await closeAll(list);
  });

  it('a waiter learns of the write from Redis: with its polls slowed to 10 s it still answers as soon as the holder writes', async () => {
    const [holder] = await caches(1);
    if (holder === undefined) throw new Error('no cache');
    // The waiter's pauses between polls last 10 s: only the lease's announcement can end a wait early.
    const waiter = new CacheClass({ commandTimeoutMs: SUITE_COMMAND_TIMEOUT_MS, ...target(), prefix: holder.options.prefix }, { sleep: () => new Promise((r) => setTimeout(r, 10_000)) });
    await waiter.ready();
    // The announcement channel opens with the store; wait until a watch arms (a cluster opens a shard's pub/sub connection on first use).
    await announcementsOpen(waiter);
    const gate = deferred<string>();
    const started = deferred();
    const leading = holder.getOrSet('leaderboard:weekly', async () => {
      started.resolve();
      return gate.promise;
    }, 60);
    await started.promise;
    const t0 = performance.now();
    const waiting = waiter.getOrSetWithMeta('leaderboard:weekly', () => 'fetched by the waiter', 60);
    setTimeout(() => gate.resolve('from the holder'), 100);
    expect(await leading).toBe('from the holder');
    expect(await waiting).toEqual({ value: 'from the holder', status: 'miss' });
    const s = await waiter.getStats();
    expect(s.leaseWaits).toBe(1);
    expect(s.leaseWakeups).toBe(1); // woken by the announcement, not by a poll
    expect(s.fetches).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5_000); // far below the 10 s poll
    await closeAll([holder, waiter]);
  });

  it("a miss's lease lives under the entry's own key (a marker); invalidatePattern and DEL revoke it", async () => {
    const [c] = await caches(1);
    if (c === undefined) throw new Error('no cache');
    for (const revoke of [() => c.invalidatePattern('chat:1:messages:*'), () => c.invalidatePattern('chat:1:messages:0'), () => c.invalidatePattern('chat:?:messages:[0]'), () => c.del('chat:1:messages:0')]) {
      const paused = deferred();
      const started = deferred();
      const p = c.getOrSet('chat:1:messages:0', async () => {
        started.resolve();
        await paused.promise;
        return ['old'];
      }, 60);
      await started.promise;
      const full = c.options.prefix + 'chat:1:messages:0';
      // No entry yet, only the lease: NUL and the holder's token under the key itself, no lease key.
      const t = topology();
      expect(await t.raw.get(full)).toMatch(/^\0[\w-]+$/);
      expect(await t.raw.exists(t.leaseKey(full))).toBe(0);
      // Each counts the key it removed: the lease lived under it.
      expect(await revoke()).toBe(1);
      expect(await t.raw.exists(full)).toBe(0);
      paused.resolve();
      expect(await p).toEqual(['old']);
      expect(await t.raw.exists(full)).toBe(0);
    }
    await c.idle(); // getOrSet answers before its write settles (on Valkey the refusal can take a second step)
    expect((await c.getStats()).staleWritesPrevented).toBe(4);
    // A pattern that does not match the key leaves its lease alone.
    const paused = deferred();
    const started = deferred();
    const p = c.getOrSet('chat:12:messages:0', async () => {
      started.resolve();
      await paused.promise;
      return ['chat 12'];
    }, 60);
    await started.promise;
    expect(await c.invalidatePattern('chat:1:messages:*')).toBe(0);
    paused.resolve();
    await p;
    expect(await c.get('chat:12:messages:0')).toEqual(['chat 12']);
    expect(await c.invalidatePattern('chat:12:*')).toBe(1);
    await closeAll([c]);
  });

  it('a crashed holder blocks nobody: waiters fetch themselves after lockWaitMs (without writing); the lease expires', async () => {
    const [holder, waiter] = await caches(2, { leaseTtlMs: 400, lockWaitMs: 100 });
    if (holder === undefined || waiter === undefined) throw new Error('no caches');
    const never = deferred<string>();
    void holder.getOrSet('job:1', () => never.promise, 60).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
    const t0 = performance.now();
    expect(await waiter.getOrSetWithMeta('job:1', () => 'from-waiter', 60)).toEqual({ value: 'from-waiter', status: 'miss' });
    const waited = performance.now() - t0;
    // It waited about lockWaitMs (100), not the holder's lease (400). The library's clock is read
    // once per batch of work, so on a machine busy with the rest of the suite the wait can start
    // from a reading some ms old (CI: 85 ms on Sentinel): the bounds are loose on purpose.
    expect(waited).toBeGreaterThanOrEqual(50);
    expect(waited).toBeLessThan(400);
    expect(await waiter.has('job:1')).toBe(false); // it did not hold the lease, so it did not write
    expect((await waiter.getStats()).lockTimeouts).toBe(1);
    await new Promise((r) => setTimeout(r, 400)); // the holder's lease expires
    expect(await waiter.getOrSet('job:1', () => 'after-expiry', 60)).toBe('after-expiry');
    expect(await waiter.get('job:1')).toBe('after-expiry');
    never.resolve('too late'); // the holder's lease was taken over: its write is refused
    await holder.idle();
    await new Promise((r) => setTimeout(r, 20));
    expect(await waiter.get('job:1')).toBe('after-expiry');
    await closeAll([holder, waiter]);
  });

  it('a call that starts after an invalidation completed never shares a leasing read sent before it', async () => {
    const c = await warmCache({ leasingReads: 'always' });
    const gate = deferred();
    // The first call's leasing read takes the lease; its fetch waits at the gate.
    const first = c.getOrSet('wallet:7:balance', async () => {
      await gate.promise;
      return 'read before the delete';
    }, 60);
    await c.del('wallet:7:balance'); // sent after that read, so completed after its answer was handled
    // Started after the delete completed: it must read for itself (and take a new lease), not
    // share the first's read and then its fetch from before the delete.
    const later = c.getOrSet('wallet:7:balance', () => 'read after the delete', 60);
    expect(await later).toBe('read after the delete');
    gate.resolve();
    expect(await first).toBe('read before the delete'); // it overlapped the delete
    await c.idle();
    expect(await c.get('wallet:7:balance')).toBe('read after the delete'); // the revoked lease wrote nothing
    await closeAll([c]);
  });

  it('getOrSet and get read counters and plain strings written by other code', async () => {
    const [c] = await caches(1);
    if (c === undefined) throw new Error('no cache');
    await c.incr('ratelimit:login:x', 7, 60);
    expect(await c.getOrSetWithMeta('ratelimit:login:x', () => 0, 60)).toEqual({ value: 7, status: 'hit' });
    await topology().raw.set(c.options.prefix + 'legacy:1', 'j{"a":1}');
    expect(await c.getMany(['legacy:1', 'ratelimit:login:x'])).toEqual([{ a: 1 }, 7]);
    expect(await c.ttl('legacy:1')).toBe(-1);
    await closeAll([c]);
  });
});

describe('what each path costs in commands (one Redis, MONITOR)', () => {
  it('a warm hit is one GET; a miss is GET, SET NX GET (the lease) and one script (plain cache-aside: GET + SET), at most one extra round trip', async () => {
    const c = await warmCache({ leasingReads: 'never' });
    const miss = await commandsDuring(() => c.getOrSet('user:1:profile', () => ({ id: 1 }), 60));
    // The lease is a `SET … NX … GET` (it also returns a write that beat the lease); the write is
    // EVAL of a short script, which never meets NOSCRIPT.
    expect(miss).toEqual(['GET', 'SET', 'EVAL']);
    const hit = await commandsDuring(() => c.getOrSet('user:1:profile', () => ({ id: 1 }), 60));
    expect(hit).toEqual(['GET']);
    // Tags announced by the caller travel in the same round trip as the GET.
    await c.getOrSet('guild:1', () => ({ id: 1 }), { ttl: 60, tags: ['guild:1'] });
    await c.idle();
    const tagged = await commandsDuring(() => c.getOrSet('guild:1', () => ({ id: 1 }), { ttl: 60, tags: ['guild:1'] }));
    expect(tagged.sort()).toEqual(['GET', 'MGET']);
    await closeAll([c]);
  });

  it('with leasing reads a miss is two commands, SET NX GET and the script, and a hit one SET … GET; auto turns them on when misses dominate and off when hits do', async () => {
    const [always, auto] = await caches(2, { leasingReads: 'always' });
    if (always === undefined || auto === undefined) throw new Error('no caches');
    await always.getOrSet('warm-up', () => 1, 60);
    await always.idle();
    expect(await commandsDuring(() => always.getOrSet('user:1:profile', () => ({ id: 1 }), 60))).toEqual(['SET', 'EVAL']);
    await always.idle();
    expect(await commandsDuring(() => always.getOrSetWithMeta('user:1:profile', () => ({ id: 2 }), 60))).toEqual(['SET']);
    expect(await always.getOrSetWithMeta('user:1:profile', () => ({ id: 2 }), 60)).toEqual({ value: { id: 1 }, status: 'hit' });
    // Tagged calls and calls with leases off read with GET whatever the mode.
    expect((await commandsDuring(() => always.getOrSet('user:2:profile', () => 2, { ttl: 60, lease: false })))[0]).toBe('GET');
    await closeAll([always, auto]);

    const [c] = await caches(1, { leasingReads: 'auto' });
    if (c === undefined) throw new Error('no cache');
    const firstRead = async (key: string): Promise<string | undefined> => (await commandsDuring(() => c.getOrSet(key, () => key, 60)))[0];
    expect(await firstRead('cold:0')).toBe('GET'); // a new instance reads with GET
    for (let i = 1; i < 40; i++) await c.getOrSet(`cold:${i}`, () => i, 60);
    await c.idle();
    expect(await firstRead('cold:40')).toBe('SET'); // 40 misses in a row: the read takes the lease
    for (let i = 0; i < 40; i++) await c.getOrSet(`cold:${i}`, () => -1, 60);
    expect(await firstRead('cold:1')).toBe('GET'); // 40 hits in a row: back to GET
    await closeAll([c]);
  });

  it('leased writes that finish together go out in one EVAL, each judged on its own lease', async () => {
    const [c, other] = await caches(2, { leasingReads: 'always' });
    if (c === undefined || other === undefined) throw new Error('no caches');
    await c.getOrSet('warm-up', () => 1, 60);
    await c.idle();
    const gate = deferred();
    const started: Promise<void>[] = [];
    const pending: Promise<number>[] = [];
    const commands = await commandsDuring(async () => {
      for (let i = 0; i < 5; i++) {
        const began = deferred();
        started.push(began.promise);
        pending.push(
          c.getOrSet(`batch:${i}`, async () => {
            began.resolve();
            await gate.promise;
            return i;
          }, 60),
        );
      }
      await Promise.all(started);
      await other.del('batch:2'); // revokes that one lease
      gate.resolve(); // the five fetches end in the same run of JavaScript
      expect(await Promise.all(pending)).toEqual([0, 1, 2, 3, 4]);
      await c.idle();
    });
    expect(commands.filter((x) => x === 'EVAL')).toHaveLength(1);
    expect(await other.getMany(['batch:0', 'batch:1', 'batch:2', 'batch:3', 'batch:4'])).toEqual([0, 1, null, 3, 4]);
    expect((await c.getStats()).staleWritesPrevented).toBe(1);
    await closeAll([c, other]);
  });

  it('concurrent calls of one key in one instance share its leasing read: one SET NX GET for 50 misses, one for 50 hits, each hit its own copy', async () => {
    const c = await warmCache({ leasingReads: 'always' });
    let fetches = 0;
    const fetcher = async (): Promise<{ n: number }> => {
      fetches++;
      await new Promise((r) => setTimeout(r, 20));
      return { n: 1 };
    };
    const misses = await commandsDuring(async () => {
      expect(await Promise.all(Array.from({ length: 50 }, () => c.getOrSet('hot:1', fetcher, 60)))).toEqual(Array.from({ length: 50 }, () => ({ n: 1 })));
      await c.idle();
    });
    expect(misses).toEqual(['SET', 'EVAL']); // the first's lease and its write; the 49 others joined it
    expect(fetches).toBe(1);
    let hits: unknown[] = [];
    expect(await commandsDuring(async () => (hits = await Promise.all(Array.from({ length: 50 }, () => c.getOrSet('hot:1', fetcher, 60)))))).toEqual(['SET']);
    expect(hits).toEqual(Array.from({ length: 50 }, () => ({ n: 1 })));
    expect(hits[0]).not.toBe(hits[1]); // each follower decodes the shared answer itself
    const stats = await c.getStats();
    expect(stats.hits).toBe(50);
    expect(stats.misses).toBe(51);
    expect(fetches).toBe(1);
    await closeAll([c]);
  });

  it('the same with a value the fetcher returns rather than promises: the 49 followers join the first, no command of their own', async () => {
    const c = await warmCache({ leasingReads: 'always' });
    let fetches = 0;
    const fetcher = (): { n: number } => {
      fetches++;
      return { n: 1 };
    };
    const misses = await commandsDuring(async () => {
      expect(await Promise.all(Array.from({ length: 50 }, () => c.getOrSet('computed:1', fetcher, 60)))).toEqual(Array.from({ length: 50 }, () => ({ n: 1 })));
      await c.idle();
    });
    // A value known at once needs no in-flight entry for later calls (they read after its write),
    // but one for the reads already waiting on the first's answer.
    expect(misses).toEqual(['SET', 'EVAL']);
    expect(fetches).toBe(1);
    const stats = await c.getStats();
    expect(stats.coalesced).toBe(49);
    expect(stats.leaseWaits).toBe(0);
    // A later call reads what the write left, without an entry to join.
    expect(await commandsDuring(() => c.getOrSet('computed:1', fetcher, 60))).toEqual(['SET']);
    expect(fetches).toBe(1);
    await closeAll([c]);
  });

  it('invalidateTags costs the same over 10 or 2,000 tagged keys: one SET per tag, no SCAN, no KEYS', async () => {
    const [c] = await caches(1);
    if (c === undefined) throw new Error('no cache');
    await c.setMany(Array.from({ length: 10 }, (_, i) => ({ key: `job:${i}`, value: i, ttl: { ttl: 60, tags: ['few'] } })));
    await c.invalidateTags(['warm-up']);
    await c.setMany(Array.from({ length: 2000 }, (_, i) => ({ key: `jobs:open:${i}`, value: i, ttl: { ttl: 60, tags: ['many'] } })));
    const few = await commandsDuring(() => c.invalidateTags(['few']));
    const many = await commandsDuring(() => c.invalidateTags(['many']));
    expect(few).toEqual(['SET']);
    expect(many).toEqual(few);
    expect(await c.get('jobs:open:1999')).toBeNull();
    expect(await c.get('job:3')).toBeNull();
    await closeAll([c]);
  });
});

describe('the lease-checked write as one plain command: SET … IFEQ (MONITOR)', () => {
  it('on Redis 7.0 the first write meets a syntax error and the script writes it, nothing lost; later writes go to the script alone', async () => {
    const [c] = await caches(1, { leasingReads: 'always' });
    if (c === undefined) throw new Error('no cache');
    const first = await linesDuring(async () => {
      expect(await c.getOrSet('user:1:profile', () => ({ id: 1 }), 60)).toEqual({ id: 1 });
      await c.idle();
    });
    expect(commandNames(first)).toEqual(['SET', 'SET', 'EVAL']);
    expect(first[1]).toMatch(/"IFEQ"/);
    expect(await c.get('user:1:profile')).toEqual({ id: 1 });
    expect(await commandsDuring(async () => {
      await c.getOrSet('user:2:profile', () => ({ id: 2 }), 60);
      await c.idle();
    })).toEqual(['SET', 'EVAL']);
    const stats = await c.getStats();
    expect(stats.errors).toBe(0);
    expect(stats.sets).toBe(2);
    await closeAll([c]);
  });

  if (valkeyServerPath() === undefined) {
    describe('on Valkey ≥ 8.1', itHasNoValkey);
    return;
  }
  describe('on Valkey ≥ 8.1', () => {
    let valkey: TestRedisServer;
    let valkeyRaw: RawRedisClient;
    beforeAll(async () => {
      ({ server: valkey, raw: valkeyRaw } = await startRedisWithClient({ program: valkeyServerPath() }));
      target = () => ({ redis: valkey.url });
    });
    afterAll(async () => {
      target = () => ({ redis: server.url });
      await valkeyRaw.close();
      await valkey.stop();
    });

    it('a miss is two plain commands, SET NX GET and SET IFEQ, no script; a hit is one', async () => {
      const c = await warmCache({ leasingReads: 'always' });
      const miss = await linesDuring(async () => {
        expect(await c.getOrSet('user:1:profile', () => ({ id: 1 }), 60)).toEqual({ id: 1 });
        await c.idle();
      }, valkeyRaw);
      expect(miss).toHaveLength(2);
      expect(miss[0]).toMatch(/"SET" ".*user:1:profile" "\\x00[^"]+" "NX" "PX" "\d+" "GET"/);
      expect(miss[1]).toMatch(/"SET" ".*user:1:profile" "\[.*" "IFEQ" "\\x00[^"]+" "PX" "\d+"/);
      expect(await commandsDuring(() => c.getOrSet('user:1:profile', () => ({ id: 2 }), 60), valkeyRaw)).toEqual(['SET']);
      expect(await c.getOrSetWithMeta('user:1:profile', () => ({ id: 2 }), 60)).toEqual({ value: { id: 1 }, status: 'hit' });
      await closeAll([c]);
    });

    it('a revoked lease is not written by either step: DEL between the fetch and the write leaves nothing', async () => {
      const [c, other] = await caches(2, { leasingReads: 'always' });
      if (c === undefined || other === undefined) throw new Error('no caches');
      const fetched = deferred();
      const gate = deferred();
      const reading = c.getOrSet('wallet:1:balance', async () => {
        fetched.resolve();
        await gate.promise;
        return 100;
      }, 60);
      await fetched.promise;
      await other.del('wallet:1:balance');
      const lines = await linesDuring(async () => {
        gate.resolve();
        expect(await reading).toBe(100);
        await c.idle();
      }, valkeyRaw);
      expect(commandNames(lines)).toEqual(['SET', 'EVAL']); // IFEQ missed; the script agreed
      expect(await other.get('wallet:1:balance')).toBeNull();
      expect((await c.getStats()).staleWritesPrevented).toBe(1);
      await closeAll([c, other]);
    });

    it("a waiter on another instance flags the marker: the holder's SET IFEQ misses it and the script writes and announces", async () => {
      const [holder, waiter] = await caches(2, { leasingReads: 'always' });
      if (holder === undefined || waiter === undefined) throw new Error('no caches');
      await holder.getOrSet('warm-up', () => 1, 60);
      await holder.idle();
      await announcementsOpen(waiter);
      const started = deferred();
      const gate = deferred<string>();
      const leading = holder.getOrSet('leaderboard:weekly', async () => {
        started.resolve();
        return gate.promise;
      }, 60);
      await started.promise;
      const waiting = waiter.getOrSetWithMeta('leaderboard:weekly', () => 'fetched by the waiter', 60);
      // The waiter's ACQUIRE has flagged the marker once the key holds NUL, the token, then SOH.
      await expect.poll(async () => (await valkeyRaw.get(`${holder.options.prefix}leaderboard:weekly`))?.endsWith('\u0001') ?? false, { timeout: 5_000, interval: 10 }).toBe(true);
      const lines = await linesDuring(async () => {
        gate.resolve('from the holder');
        expect(await leading).toBe('from the holder');
        await holder.idle();
        expect(await waiting).toEqual({ value: 'from the holder', status: 'miss' });
      }, valkeyRaw);
      const sent = commandNames(lines);
      expect(sent.slice(0, 2)).toEqual(['SET', 'EVAL']);
      expect(lines[0]).toMatch(/"IFEQ"/);
      const s = await waiter.getStats();
      expect(s.fetches).toBe(0);
      expect(s.leaseWakeups).toBe(1); // the script's announcement woke it, not a poll
      await closeAll([holder, waiter]);
    });
  });
});
