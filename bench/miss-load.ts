/**
 * The miss-path measurements of `npm run bench`: misses at 64 in flight on distinct cold keys
 * against hand-rolled cache-aside on the same client, and the distributed stampede (4 instances
 * × 250 callers on one cold key) with the time until the last caller has its answer.
 */
import { createCache, type CacheOptions } from './library.ts';
import { drive, median, pairedRounds, profile } from './hit-load.ts';
import { unlinkUnder } from './loadtest/redis.ts';
import { countCommands } from './monitor.ts';
import type { RawRedisClient } from '../test/helpers/redis-server.ts';

export interface MissLoad {
  base: number[];
  lib: number[];
  ratio: number;
  ratios: number[];
  /** CPU per miss, µs, over one more second of each path: Redis's (INFO cpu) and this process's. */
  cpu: { base: CpuPerOp; lib: CpuPerOp };
  /** Redis commands per getOrSet miss, counted with MONITOR over `counted` more calls. */
  commandsPerMiss: number;
  counted: number;
  /**
   * Redis's time in the write script during the getOrSet CPU second (`INFO commandstats`): µs
   * per `EVAL`, writes per `EVAL`, and µs per `SET` (the SETs of the leasing reads and those
   * the script runs, which commandstats counts apart).
   */
  writeScript: { usPerCall: number; writesPerCall: number; setUsPerCall: number };
}

/** `cmdstat_<name>:calls=…,usec=…,usec_per_call=…` lines of `INFO commandstats`, by command name. */
function commandStats(info: string): Map<string, { calls: number; usecPerCall: number }> {
  const out = new Map<string, { calls: number; usecPerCall: number }>();
  for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+)/gm)) {
    out.set(m[1] ?? '', { calls: Number(m[2]), usecPerCall: Number(m[3]) });
  }
  return out;
}

export interface CpuPerOp {
  redisUs: number;
  nodeUs: number;
}

/** Runs `op` 64 in flight for `ms` and divides Redis's and this process's CPU time by the calls. */
export async function cpuPerOp(raw: RawRedisClient, op: () => Promise<unknown>, ms: number): Promise<CpuPerOp> {
  const redisCpu = async (): Promise<number> => {
    const info = await raw.info('cpu');
    const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
    return field('used_cpu_user') + field('used_cpu_sys');
  };
  const r0 = await redisCpu();
  const n0 = process.cpuUsage();
  const t0 = performance.now();
  const calls = ((await drive(op, ms)) * (performance.now() - t0)) / 1000;
  const n1 = process.cpuUsage(n0);
  const r1 = await redisCpu();
  return { redisUs: ((r1 - r0) * 1e6) / calls, nodeUs: (n1.user + n1.system) / calls };
}

/**
 * Plain cache-aside as hand-rolled (`GET`, then on a miss the value and `SET … EX`), each call on
 * a key under `prefix` never used before: the baseline every miss bench pairs with.
 */
export function cacheAsideMisses(raw: RawRedisClient, prefix: string, ttlSeconds: number): () => Promise<unknown> {
  let n = 0;
  const ttl = { expiration: { type: 'EX', value: ttlSeconds } } as const;
  return async () => {
    const i = n++;
    const key = `${prefix}user:${i}:profile`;
    const s = await raw.get(key);
    if (s !== null) return JSON.parse(s) as unknown;
    const v = profile(i);
    await raw.set(key, JSON.stringify(v), ttl);
    return v;
  };
}

/**
 * Paired rounds of misses, 64 in flight, every call on a key never used before: plain
 * cache-aside (`GET`, then `SET … EX`) on the raw client against `getOrSet` with leases on.
 */
export async function missLoad(raw: RawRedisClient, url: string, prefix: string, rounds: number, roundMs: number): Promise<MissLoad> {
  const cache = createCache({ redis: url, prefix: `${prefix}ml:` });
  await cache.ready();
  await cache.getOrSet('warm-up', () => 1, 60);
  let nLib = 0;
  const baseline = cacheAsideMisses(raw, `${prefix}mr:`, 60);
  const lib = (): Promise<unknown> => {
    const i = nLib++;
    return cache.getOrSet(`user:${i}:profile`, () => profile(i), 60);
  };
  // The JIT first, on both (as the hit bench does): unwarmed, the first rounds' ratio was 0.2.
  await drive(baseline, 1000);
  await drive(lib, 1000);
  const { base, lib: libRates } = await pairedRounds(baseline, lib, rounds, roundMs);
  const cpuBase = await cpuPerOp(raw, baseline, 1000);
  await raw.configResetStat();
  const writesBefore = (await cache.getStats()).sets;
  const cpu = { base: cpuBase, lib: await cpuPerOp(raw, lib, 1000) };
  const scripts = commandStats(await raw.info('commandstats'));
  const writes = (await cache.getStats()).sets - writesBefore;
  const counted = 200;
  const commands = await countCommands(raw, async () => {
    for (let k = 0; k < counted; k++) await lib();
  });
  await cache.idle();
  const stats = await cache.getStats();
  if (stats.errors > 0 || stats.hits > 1 || stats.leaseWaits > 0) throw new Error(`miss bench invalid: ${stats.errors} errors, ${stats.hits} hits, ${stats.leaseWaits} lease waits`);
  await cache.invalidatePattern('*');
  await cache.close();
  // The baseline's keys go too, as every other section's do: with REDIS_URL set, the bench
  // leaves nothing on a server it does not own (several hundred thousand keys otherwise, for 60 s).
  await unlinkUnder(raw, `${prefix}mr:`);
  const ratios = base.map((b, i) => (libRates[i] ?? 0) / b);
  const evalStat = scripts.get('eval') ?? { calls: 0, usecPerCall: NaN };
  const setStat = scripts.get('set') ?? { calls: 0, usecPerCall: NaN };
  return {
    base,
    lib: libRates,
    ratio: median(ratios),
    ratios,
    cpu,
    commandsPerMiss: commands / counted,
    counted,
    writeScript: { usPerCall: evalStat.usecPerCall, writesPerCall: writes / Math.max(1, evalStat.calls), setUsPerCall: setStat.usecPerCall },
  };
}

export interface StampedeRun {
  fetches: number;
  /** ms from the first call to the fetcher starting. */
  fetchStartMs: number;
  /** ms from the first call until the last of the 1,000 callers had its value. */
  lastMs: number;
}

/**
 * Unmeasured runs first, as a process that has served traffic is warm. With one, the first three
 * measured runs were still JIT-cold (a scratch run of 20 after one: the fetch started at 16–36 ms
 * and the last caller had its value at 76–95 ms in runs 0–2, then 4–10 and 56–68 ms from run 3 on).
 */
export const STAMPEDE_WARM_UP_RUNS = 3;

/**
 * Four caches (four instances: each its own connections) × 250 concurrent getOrSet on one cold
 * key whose fetcher takes `fetchMs`, `runs` times on fresh keys.
 */
export async function stampede(url: string, prefix: string, runs: number, fetchMs: number, options: Omit<CacheOptions, 'redis' | 'prefix'> = {}): Promise<StampedeRun[]> {
  const caches = Array.from({ length: 4 }, () => createCache({ ...options, redis: url, prefix: `${prefix}st:` }));
  for (const c of caches) await c.ready();
  // Opens each instance's announcement channel (lease-watch.ts), as any earlier wait would.
  await Promise.all(caches.map((c) => c.getOrSet('warm-up', () => 1, 60)));
  const out: StampedeRun[] = [];
  for (let run = -STAMPEDE_WARM_UP_RUNS; run < runs; run++) {
    const key = `leaderboard:${run}`;
    let fetches = 0;
    let fetchStartMs = 0;
    const t0 = performance.now();
    const fetcher = async (): Promise<number[]> => {
      fetches++;
      fetchStartMs = performance.now() - t0;
      await new Promise((r) => setTimeout(r, fetchMs));
      return [1, 2, 3];
    };
    let lastMs = 0;
    await Promise.all(
      caches.flatMap((c) =>
        Array.from({ length: 250 }, async () => {
          await c.getOrSet(key, fetcher, 60);
          lastMs = Math.max(lastMs, performance.now() - t0);
        }),
      ),
    );
    if (run >= 0) out.push({ fetches, fetchStartMs, lastMs });
  }
  for (const c of caches) {
    await c.invalidatePattern('*');
    await c.close();
  }
  return out;
}
