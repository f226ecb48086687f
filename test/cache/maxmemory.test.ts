/**
 * The cache on a Redis that evicts: `maxmemory 8mb` with `allkeys-lru`, and with `volatile-lru`
 * (which evicts only keys with a TTL, so it works only because every key the cache writes has
 * one). About ten times that memory is written through the public API by two cache instances
 * while invalidations (del, invalidateTags, invalidatePattern) and reads (get, getOrSet) run
 * concurrently on a set of tracked keys.
 *
 * Checked: no read that starts after an invalidation resolved returns a value from before it;
 * every call settles (nothing hangs) and no write is refused for memory (OOM); Redis evicted;
 * every key left has a TTL.
 *
 * "From before" an invalidation that started at S: a value created before S (its `set` issued,
 * or its fetcher called, before S), except a `set` still in flight at S, which may land after
 * the invalidation and then is current. A `set` that failed (deadline) may land at any time
 * later, so its value is never counted as stale.
 *
 * Then `noeviction` with the memory full: reads answer (a leasing read, refused, is sent again as
 * a GET), invalidations and counters are refused with OOM (loudly), and so are entry writes (they
 * never land past maxmemory).
 */
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { createCache, type Cache, type CacheErrorEvent } from '../../src/cache/index.ts';
import { startRedisServer, type RawRedisClient, type TestRedisServer } from '../helpers/redis-server.ts';

const MAXMEMORY_BYTES = 8 * 1024 * 1024;
/** Bytes of filler values written: ten times maxmemory. */
const WRITE_BYTES = 10 * MAXMEMORY_BYTES;
const FILLER_PAD = 'f'.repeat(4096);
const TRACKED_PAD = 't'.repeat(1024);
const TRACKED_KEYS = 300;
const TAGS = 20;
const TTL_SECONDS = 300;
/** A call that has not settled after this long counts as a hang (a generous bound, not a target). */
const HANG_MS = 15_000;

interface Value {
  key: string;
  seq: number;
  /** Who made it: a `set`, or a getOrSet fetcher. */
  by: 'set' | 'fetch';
  pad: string;
}

/** An invalidation of one key that resolved: values with seq < cut are stale, except `exempt`. */
interface Cut {
  kind: 'del' | 'tags' | 'pattern';
  cut: number;
  exempt: number | undefined;
}

interface KeyState {
  tag: string;
  /** The seq of the value a `set` is writing now (one set per key at a time). */
  setInFlight: number | undefined;
  /** Seqs of sets that failed: they may still land, at any time. */
  unknown: Set<number>;
  cuts: Cut[];
}

const trackedKey = (i: number): string => `u:${i}`;

class HangError extends Error {}

describe.each(['allkeys-lru', 'volatile-lru'] as const)('maxmemory 8mb, %s', (policy) => {
  it('under eviction, no read after an invalidation returns a value from before it; nothing hangs; every key has a TTL', async () => {
    const server = await startRedisServer({ extraArgs: ['--maxmemory', String(MAXMEMORY_BYTES), '--maxmemory-policy', policy, '--maxmemory-samples', '5'] });
    const raw = createClient({ url: server.url });
    raw.on('error', () => {});
    const errors: CacheErrorEvent[] = [];
    const prefix = `mm${randomBytes(3).toString('hex')}:`;
    // Two instances on two connections, as two application servers would be. The deadline is
    // generous: this test is about eviction, and two busy cores must not turn into time-outs.
    const open = (): Cache => createCache({ redis: server.url, prefix, commandTimeoutMs: 3000, onError: (e) => errors.push(e) });
    const caches: [Cache, Cache] = [open(), open()];
    try {
      await raw.connect();
      for (const c of caches) await c.ready();

      let seq = 0;
      const keys = Array.from({ length: TRACKED_KEYS }, (_, i): KeyState => ({ tag: `g${i % TAGS}`, setInFlight: undefined, unknown: new Set(), cuts: [] }));
      const violations: string[] = [];
      const counts = { gets: 0, getOrSets: 0, hitsOrValues: 0, sets: 0, dels: 0, tagInvalidations: 0, patternInvalidations: 0, fillerWrites: 0, incrs: 0, failedInvalidations: 0 };
      let fillerBytes = 0;
      const done = (): boolean => fillerBytes >= WRITE_BYTES;
      const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;
      const cache = (): Cache => pick(caches);
      const state = (i: number): KeyState => keys[i] as KeyState;

      /** What `p` settles to; rejects with a HangError if it has not settled after HANG_MS. */
      const settle = <T>(label: string, p: Promise<T>): Promise<T> =>
        new Promise<T>((resolve, reject) => {
          const timer = setTimeout(() => reject(new HangError(`${label} did not settle within ${HANG_MS} ms`)), HANG_MS);
          p.then(
            (v) => {
              clearTimeout(timer);
              resolve(v);
            },
            (err: unknown) => {
              clearTimeout(timer);
              reject(err instanceof Error ? err : new Error(String(err)));
            },
          );
        });

      /** Checks a value read for key i by a read that started when the key had `cutsAtStart` resolved cuts. */
      const check = (i: number, how: string, got: Value | null, cutsAtStart: number): void => {
        if (got === null) return;
        counts.hitsOrValues++;
        const k = state(i);
        if (got.key !== trackedKey(i)) violations.push(`${how} ${trackedKey(i)} returned ${got.key}'s value`);
        if (k.unknown.has(got.seq)) return;
        for (const c of k.cuts.slice(0, cutsAtStart)) {
          if (got.seq < c.cut && got.seq !== c.exempt) {
            const what = `${how} ${trackedKey(i)} returned seq ${got.seq} (${got.by}), from before a ${c.kind} invalidation (cut ${c.cut}, exempt ${c.exempt ?? '-'})`;
            violations.push(what);
            return;
          }
        }
      };

      /** Runs an invalidation of the key indices `affected`; records the cuts once it resolved. */
      const invalidate = async (kind: Cut['kind'], affected: number[], run: () => Promise<unknown>): Promise<void> => {
        const cut = seq + 1;
        const pending = affected.map((i) => ({ i, exempt: state(i).setInFlight }));
        try {
          await settle(kind, run());
        } catch (err) {
          if (err instanceof HangError) throw err;
          // Not invalidated (reported through onError): nothing to hold later reads to.
          counts.failedInvalidations++;
          return;
        }
        for (const { i, exempt } of pending) state(i).cuts.push({ kind, cut, exempt });
      };

      const fetcherFor = (i: number) => async (): Promise<Value> => {
        const v: Value = { key: trackedKey(i), seq: ++seq, by: 'fetch', pad: TRACKED_PAD };
        // A fetch takes a moment, so invalidations land while values are being fetched.
        await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 4)));
        return v;
      };

      const fillerLoop = async (w: number): Promise<void> => {
        for (let n = 0; !done(); n++) {
          const key = `f:${w}:${n}`;
          const ok = await settle('filler set', cache().set(key, { n, pad: FILLER_PAD }, TTL_SECONDS));
          if (ok) fillerBytes += FILLER_PAD.length;
          counts.fillerWrites++;
          if (n % 50 === 0) {
            // Counters are keys the cache writes too (rate limits): they must carry a TTL.
            await settle('incr', cache().incr(`c:${n % 7}`, 1, TTL_SECONDS)).then(
              () => counts.incrs++,
              (err: unknown) => {
                if (err instanceof HangError) throw err;
              },
            );
          }
        }
      };

      const setLoop = async (): Promise<void> => {
        while (!done()) {
          const i = Math.floor(Math.random() * TRACKED_KEYS);
          const k = state(i);
          if (k.setInFlight !== undefined) {
            await new Promise((r) => setImmediate(r));
            continue;
          }
          const v: Value = { key: trackedKey(i), seq: ++seq, by: 'set', pad: TRACKED_PAD };
          k.setInFlight = v.seq;
          try {
            const ok = await settle('set', cache().set(trackedKey(i), v, { ttl: TTL_SECONDS, tags: [k.tag] }));
            if (!ok) k.unknown.add(v.seq);
          } finally {
            k.setInFlight = undefined;
          }
          counts.sets++;
        }
      };

      const readLoop = async (): Promise<void> => {
        while (!done()) {
          const i = Math.floor(Math.random() * TRACKED_KEYS);
          const k = state(i);
          const cutsAtStart = k.cuts.length;
          if (Math.random() < 0.5) {
            const got = await settle('get', cache().get<Value>(trackedKey(i)));
            counts.gets++;
            check(i, 'get', got, cutsAtStart);
          } else {
            const got = await settle('getOrSet', cache().getOrSet(trackedKey(i), fetcherFor(i), { ttl: TTL_SECONDS, tags: [k.tag] }));
            counts.getOrSets++;
            check(i, 'getOrSet', got, cutsAtStart);
          }
        }
      };

      const invalidateLoop = async (): Promise<void> => {
        while (!done()) {
          const r = Math.random();
          if (r < 0.5) {
            const i = Math.floor(Math.random() * TRACKED_KEYS);
            await invalidate('del', [i], () => cache().del(trackedKey(i), { throwOnError: true }));
            counts.dels++;
          } else if (r < 0.85) {
            const t = Math.floor(Math.random() * TAGS);
            const affected = keys.flatMap((k, i) => (k.tag === `g${t}` ? [i] : []));
            await invalidate('tags', affected, () => cache().invalidateTags([`g${t}`]));
            counts.tagInvalidations++;
          } else {
            // `u:1*` covers u:1, u:10–u:19, u:100–u:199.
            const d = 1 + Math.floor(Math.random() * 9);
            const affected = keys.flatMap((_, i) => (String(i).startsWith(String(d)) ? [i] : []));
            await invalidate('pattern', affected, () => cache().invalidatePattern(`u:${d}*`));
            counts.patternInvalidations++;
          }
          await new Promise((r) => setTimeout(r, 2));
        }
      };

      await Promise.all([
        ...[0, 1, 2, 3].map(fillerLoop),
        setLoop(),
        setLoop(),
        readLoop(),
        readLoop(),
        readLoop(),
        readLoop(),
        invalidateLoop(),
        invalidateLoop(),
      ]);
      for (const c of caches) await settle('idle', c.idle());

      const stats = Object.fromEntries(
        (await raw.info('stats'))
          .split(/\r?\n/)
          .map((l) => l.split(':'))
          .filter((p) => p.length === 2),
      ) as Record<string, string>;
      const memory = (await raw.info('memory')).match(/used_memory:(\d+)/)?.[1];
      console.info(`${policy}: ${JSON.stringify({ ...counts, fillerMiB: Math.round(fillerBytes / 2 ** 20), evictedKeys: stats['evicted_keys'], usedMemory: memory, errors: errors.length })}`);

      expect(violations.slice(0, 10)).toEqual([]);
      expect(Number(stats['evicted_keys'])).toBeGreaterThan(0);
      // Every call resolved, and the workload did what it is for: values read, invalidations run.
      expect(counts.hitsOrValues).toBeGreaterThan(0);
      expect(counts.dels + counts.tagInvalidations + counts.patternInvalidations).toBeGreaterThan(0);
      // Eviction made room for every write: none refused with OOM (volatile-lru would refuse a
      // write once the memory is full of keys without a TTL).
      expect(errors.filter((e) => /OOM/.test(`${e.error.message} ${String(e.error.cause)}`)).map((e) => e.error.message)).toEqual([]);

      // Every key the cache left behind (entries, leases, tag versions, counters) has a TTL.
      const noTtl: string[] = [];
      for await (const batch of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
        for (const key of batch) if ((await raw.pTTL(key)) === -1) noTtl.push(key);
      }
      expect(noTtl).toEqual([]);

      // And it still answers: each tracked key reads through to a value fetched now.
      const floor = seq;
      for (let i = 0; i < TRACKED_KEYS; i += 10) {
        await invalidate('del', [i], () => caches[0].del(trackedKey(i), { throwOnError: true }));
        const got = await settle('final getOrSet', caches[1].getOrSet(trackedKey(i), fetcherFor(i), { ttl: TTL_SECONDS, tags: [state(i).tag] }));
        expect(got.seq).toBeGreaterThan(floor);
      }
    } finally {
      for (const c of caches) await c.close();
      await raw.close().catch(() => {});
      await server.stop();
    }
  }, 120_000);
});

/**
 * `noeviction`, full: Redis refuses commands that may add memory. What that does to the cache
 * today (run without an eviction policy at your peril; the README says which to run).
 */
describe('maxmemory 4mb, noeviction, full', () => {
  const LIMIT = 4 * 1024 * 1024;

  async function fullServer(): Promise<{ server: TestRedisServer; raw: RawRedisClient; used: () => Promise<number>; fill: () => Promise<number> }> {
    const server = await startRedisServer({ extraArgs: ['--maxmemory', String(LIMIT), '--maxmemory-policy', 'noeviction'] });
    const raw = createClient({ url: server.url });
    raw.on('error', () => {});
    await raw.connect();
    const used = async (): Promise<number> => Number((await raw.info('memory')).match(/used_memory:(\d+)/)?.[1]);
    // Plain SETs until Redis refuses one: the memory is full.
    const fill = async (): Promise<number> => {
      let n = 0;
      for (;;) {
        try {
          await raw.set(`filler:${n++}`, FILLER_PAD);
        } catch (err) {
          if (err instanceof Error && /OOM/.test(err.message)) break;
          throw err;
        }
      }
      return n;
    };
    return { server, raw, used, fill };
  }

  it('reads keep answering and getOrSet falls through to the fetcher; invalidations and counters fail loudly with OOM', async () => {
    const { server, raw, fill } = await fullServer();
    const errors: CacheErrorEvent[] = [];
    const cache = createCache({ redis: server.url, prefix: 'ne:', onError: (e) => errors.push(e) });
    try {
      await cache.ready();
      await cache.set('cached', 'v', TTL_SECONDS);
      expect(await cache.getOrSet('tagged', () => 'v1', { ttl: TTL_SECONDS, tags: ['t'] })).toBe('v1');
      await fill();

      // Reads are never refused.
      expect(await cache.get('cached')).toBe('v');
      expect(await cache.getOrSet('tagged', () => 'v2', { ttl: TTL_SECONDS, tags: ['t'] })).toBe('v1');
      expect(await cache.getOrSet('new', () => 'fetched', TTL_SECONDS)).toBe('fetched');

      // del runs UNLINK inside MULTI, and Redis refuses any command queued in MULTI when out of
      // memory: reported (onError) and 0, or rejected with throwOnError. Nothing is deleted.
      errors.length = 0;
      expect(await cache.del('cached')).toBe(0);
      expect(errors.map((e) => `${e.operation} ${e.error.code}`)).toEqual(['del E_REDIS_COMMAND']);
      expect(errors[0]?.error.message).toMatch(/OOM/);
      await expect(cache.del('cached', { throwOnError: true })).rejects.toMatchObject({ code: 'E_REDIS_COMMAND', message: expect.stringMatching(/OOM/) as unknown });
      expect(await cache.get('cached')).toBe('v');
      // invalidateTags (its script's first command is a SET), invalidatePattern (UNLINK in MULTI)
      // and incr (INCRBY first) are refused too, and reject.
      await expect(cache.invalidateTags(['t'])).rejects.toMatchObject({ code: 'E_REDIS_COMMAND', message: expect.stringMatching(/OOM/) as unknown });
      expect(await cache.getOrSet('tagged', () => 'v3', { ttl: TTL_SECONDS, tags: ['t'] })).toBe('v1');
      await expect(cache.invalidatePattern('cach*')).rejects.toMatchObject({ code: 'E_REDIS_COMMAND' });
      await expect(cache.incr('counter')).rejects.toMatchObject({ code: 'E_REDIS_COMMAND', message: expect.stringMatching(/OOM/) as unknown });
    } finally {
      await cache.close();
      await raw.close().catch(() => {});
      await server.stop();
    }
  });

  it('a leasing read (a write command) refused for memory is sent again as a GET: hits answer, nothing is reported, leasing reads pause', async () => {
    const { server, raw, used, fill } = await fullServer();
    const errors: CacheErrorEvent[] = [];
    const cache = createCache({ redis: server.url, prefix: 'ne:', leasingReads: 'always', onError: (e) => errors.push(e) });
    try {
      await cache.ready();
      await cache.set('cached', 'v', TTL_SECONDS);
      await fill();
      // Over the limit for sure (the refused SET leaves usage just under it): every write command is refused.
      await raw.configSet('maxmemory', String((await used()) - 512 * 1024));
      expect(cache.store.leaseOnRead).toBe(true);
      expect(await cache.getOrSetWithMeta('cached', () => 'fetched', TTL_SECONDS)).toEqual({ value: 'v', status: 'hit' });
      expect(cache.store.leaseOnRead).toBe(false);
      expect(await cache.getOrSetWithMeta('cached', () => 'fetched', TTL_SECONDS)).toEqual({ value: 'v', status: 'hit' });
      expect(errors).toEqual([]);
    } finally {
      await cache.close();
      await raw.close().catch(() => {});
      await server.stop();
    }
  });

  /**
   * Each entry script's first write adds memory (SET, HSET), so Redis refuses the script whole
   * when memory is full. Were it a DEL (which never adds memory, so Redis lets it through), the
   * rest of the script would run regardless, and every set and getOrSet would write past
   * maxmemory without limit.
   */
  it('entry writes are refused once memory is full, and reported', async () => {
    const { server, raw, used, fill } = await fullServer();
    const cache = createCache({ redis: server.url, prefix: 'ne:', onError: () => {} });
    try {
      await cache.ready();
      await fill();
      let accepted = 0;
      for (let i = 0; i < 1000; i++) if (await cache.set(`late:${i}`, { pad: FILLER_PAD }, TTL_SECONDS)) accepted++;
      expect({ accepted, overLimit: (await used()) > LIMIT * 1.5 }).toEqual({ accepted: 0, overLimit: false });
    } finally {
      await cache.close();
      await raw.close().catch(() => {});
      await server.stop();
    }
  });
});
