/**
 * `npm run bench`: getOrSet on warm keys, 64 calls in flight, against the raw node-redis
 * GET + JSON.parse baseline, in the same run, on the same redis-server. Rounds alternate
 * baseline and cache so drift on a shared machine hits both alike; the median round is reported.
 *
 * Then what a hit and a miss cost against plain cache-aside (GET, then SET on a miss): Redis
 * commands per operation, counted with MONITOR, and latency at one call in flight (so latency is
 * round trips × RTT plus Redis time), for a miss with a leasing read (a cold cache) and with a GET
 * first (a warm one). The lease machinery must add no round trip to a hit and at most one to a miss.
 *
 * Then misses under load: 64 in flight on distinct cold keys against plain cache-aside on the
 * same client (target ≥ 0.7), and the distributed stampede: 4 instances × 250 callers on one
 * cold key with a 50 ms fetcher, one fetch, the last caller answered within 1.2 × the fetch
 * (median of 10 runs).
 *
 * Then the miss path again on Valkey ≥ 8.1, where the lease-checked write is `SET … IFEQ`, one
 * plain command, instead of a script (this machine's Redis 7.0 has no compare-and-set).
 *
 * Uses REDIS_URL when set, otherwise starts a throwaway redis-server on a free port; likewise
 * VALKEY_URL, otherwise Valkey from scripts/fetch-valkey.sh (run if need be).
 * Writes bench/results/<date>-bench.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createClient } from 'redis';
import { createCache, LIBRARY_MEASURED, type Cache } from './library.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import { valkeyProgram } from './valkey.ts';
import { drive, IN_FLIGHT, KEYS, median, pairedRounds, profile, sequentialUs } from './hit-load.ts';
import { machineHeader, today } from './machine.ts';
import { missLoad, stampede, STAMPEDE_WARM_UP_RUNS, type MissLoad, type StampedeRun } from './miss-load.ts';
import { unlinkUnder } from './loadtest/redis.ts';
import { countCommands } from './monitor.ts';

// 60 pairs of 200 ms rather than 15 of 800 ms (the same 24 s): on this shared VM single rounds
// swing ±15 %, and shorter pairs sit closer in time while more of them tighten the median. Ten
// runs of each on the same code: 0.856–0.906 against 0.821–0.928.
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const MISS_ROUNDS = Number(process.env.BENCH_MISS_ROUNDS ?? 30);
const STAMPEDE_RUNS = 10;
const STAMPEDE_FETCH_MS = 50;

type RedisClient = ReturnType<typeof createClient>;

interface CostRow {
  path: string;
  commandsPerOp: number;
  usPerOp: number;
}

/**
 * Hit and miss cost, getOrSet vs plain cache-aside on the raw client. Two caches: one with the
 * default leasing reads, which turn on once most reads miss (every read here misses), and one
 * that always reads with GET (leasingReads 'never'), as a warm cache reads: its misses are the
 * occasional miss of a warm cache, and its hits the hit path.
 */
async function roundTrips(raw: RedisClient, url: string, prefix: string): Promise<CostRow[]> {
  const cold = createCache({ redis: url, prefix: `${prefix}rt:a:` });
  const warm = createCache({ redis: url, prefix: `${prefix}rt:b:`, leasingReads: 'never' });
  await cold.ready();
  await warm.ready();
  const ttl = { expiration: { type: 'EX', value: 3600 } } as const;
  const rawKey = (i: number): string => `${prefix}rt:raw:${i}`;
  // Plain cache-aside, as hand-rolled: GET, and on a miss fetch then SET.
  const rawGetOrSet = async (i: number): Promise<unknown> => {
    const s = await raw.get(rawKey(i));
    if (s !== null) return JSON.parse(s) as unknown;
    const v = profile(i);
    await raw.set(rawKey(i), JSON.stringify(v), ttl);
    return v;
  };
  const via = (c: Cache) => (i: number): Promise<unknown> => c.getOrSet(`user:${i}:profile`, () => profile(i), 3600);
  const PER_ROUND = 400;
  const RT_ROUNDS = 5;
  const COUNTED = 200;
  for (const c of [cold, warm]) await c.getOrSet('warm-up', () => 1, 60); // loads the scripts (a first EVALSHA meets NOSCRIPT)
  const paths: [string, (i: number) => Promise<unknown>][] = [
    ['plain cache-aside, miss (GET + SET)', rawGetOrSet],
    ['getOrSet, miss, leasing read (the default once most reads miss: a cold cache)', via(cold)],
    ['getOrSet, miss, GET first (an occasional miss in a warm cache)', via(warm)],
    ['plain cache-aside, hit (GET)', rawGetOrSet],
    ['getOrSet, hit', via(warm)],
  ];
  // The JIT first: the miss path runs more code than the others and, cold, its first rounds
  // took 2-3 times its steady cost (measured: 380 µs falling to ~130 over 2,000 calls).
  const WARM_UP = 2000;
  // Keys from 1,000,000: the miss paths write them, the hit paths then read them.
  for (const [, op] of paths) await sequentialUs(op, 1_000_000, WARM_UP);
  // Rounds alternate the paths on fresh keys (misses), then the same keys again (hits).
  const us = paths.map((): number[] => []);
  for (let r = 0; r < RT_ROUNDS; r++) {
    for (const [p, [, op]] of paths.entries()) us[p]?.push(await sequentialUs(op, r * PER_ROUND, PER_ROUND));
  }
  const from = RT_ROUNDS * PER_ROUND;
  const rows: CostRow[] = [];
  for (const [p, [path, op]] of paths.entries()) {
    const commands = await countCommands(raw, async () => {
      for (let i = from; i < from + COUNTED; i++) await op(i);
    });
    rows.push({ path, commandsPerOp: commands / COUNTED, usPerOp: median(us[p] ?? []) });
  }
  const N = from;
  for (const c of [cold, warm]) {
    const stats = await c.getStats();
    if (stats.errors > 0 || stats.fetches !== N + COUNTED + WARM_UP + 1) throw new Error(`round-trip bench invalid: ${stats.fetches} fetches, ${stats.errors} errors`);
    await c.invalidatePattern('*');
    await c.close();
  }
  await unlinkUnder(raw, `${prefix}rt:raw:`);
  return rows;
}

/** What `npm run bench` measures of the miss path on one server: commands and latency at one call in flight, misses under load, the stampede. */
interface MissPath {
  costs: CostRow[];
  misses: MissLoad;
  runs: StampedeRun[];
  lastMedian: number;
  fetchStartMedian: number;
  extraMiss: number;
  extraMissWarm: number;
  extraHit: number;
  missLatency: number;
  missLatencyWarm: number;
}

/** The row of `costs` whose path starts with `path`. */
const costOf = (costs: readonly CostRow[], path: string): CostRow => costs.find((c) => c.path.startsWith(path)) ?? { path, commandsPerOp: NaN, usPerOp: NaN };

/** A raw client of the server at url, connected. */
async function rawClient(url: string): Promise<RedisClient> {
  const raw = createClient({ url });
  raw.on('error', () => {});
  await raw.connect();
  return raw;
}

async function missPath(raw: RedisClient, url: string, prefix: string): Promise<MissPath> {
  const costs = await roundTrips(raw, url, prefix);
  const misses = await missLoad(raw, url, prefix, MISS_ROUNDS, ROUND_MS);
  const runs = await stampede(url, prefix, STAMPEDE_RUNS, STAMPEDE_FETCH_MS);
  const cost = (path: string): CostRow => costOf(costs, path);
  // Every command of a miss is its own round trip when calls run one at a time.
  const plainMiss = cost('plain cache-aside, miss');
  return {
    costs,
    misses,
    runs,
    lastMedian: median(runs.map((r) => r.lastMs)),
    fetchStartMedian: median(runs.map((r) => r.fetchStartMs)),
    extraMiss: cost('getOrSet, miss, leasing').commandsPerOp - plainMiss.commandsPerOp,
    extraMissWarm: cost('getOrSet, miss, GET first').commandsPerOp - plainMiss.commandsPerOp,
    extraHit: cost('getOrSet, hit').commandsPerOp - cost('plain cache-aside, hit').commandsPerOp,
    missLatency: cost('getOrSet, miss, leasing').usPerOp / plainMiss.usPerOp,
    missLatencyWarm: cost('getOrSet, miss, GET first').usPerOp / plainMiss.usPerOp,
  };
}

/**
 * The miss path again on Valkey ≥ 8.1, whose `SET … IFEQ` makes the lease-checked write one plain
 * command: at VALKEY_URL, or on a valkey-server the bench starts (scripts/fetch-valkey.sh fetches
 * one when there is none). A string: why it was not measured.
 */
async function onValkey(prefix: string): Promise<(MissPath & { version: string; where: string }) | string> {
  const given = process.env.VALKEY_URL;
  const program = given === undefined ? valkeyProgram() : undefined;
  if (typeof program === 'object') return `not measured: ${program.missing}`;
  const server = given === undefined ? await startRedisServer({ program }) : undefined;
  const url = given ?? (server as { url: string }).url;
  const raw = await rawClient(url);
  try {
    const version = /valkey_version:([\d.]+)/.exec(await raw.info('server'))?.[1] ?? 'unknown';
    const where = given === undefined ? "Debian 13's package, `scripts/fetch-valkey.sh`, started by the bench" : 'at VALKEY_URL';
    return { version, where, ...(await missPath(raw, url, `${prefix}vk:`)) };
  } finally {
    await raw.close();
    await server?.stop();
  }
}

/** Fails the bench when a hit costs a round trip more than plain cache-aside, or a miss more than one. */
function assertRoundTrips(where: string, p: Pick<MissPath, 'extraHit' | 'extraMiss' | 'extraMissWarm'>): void {
  if (p.extraHit > 0 || p.extraMiss > 1 || p.extraMissWarm > 1) throw new Error(`round trips over target${where}: hit +${p.extraHit}, miss +${p.extraMiss} (leasing read), +${p.extraMissWarm} (GET first)`);
}

function valkeySection(v: (MissPath & { version: string; where: string }) | string): string[] {
  const head = '## The miss path on Valkey: the lease-checked write as `SET … IFEQ`';
  if (typeof v === 'string') return [head, '', v];
  const base = v.misses.cpu.base;
  const lib = v.misses.cpu.lib;
  return [
    head,
    '',
    `The same three measurements on Valkey ${v.version} (${v.where}), which has \`SET … IFEQ\` (as Redis 8.4 does): the write after the fetch is \`SET <key> <entry> IFEQ <lease marker> PX …\`, one plain command, and only a write that finds something else under the key (a marker a waiter on another instance flagged, a revoked lease) goes on to the script. Plain cache-aside runs on the same Valkey.`,
    '',
    '| measure | Valkey | target |',
    '|---|---:|---:|',
    `| Redis commands per miss: leasing read / GET first (plain cache-aside ${costOf(v.costs, 'plain cache-aside, miss').commandsPerOp.toFixed(2)}) | ${costOf(v.costs, 'getOrSet, miss, leasing').commandsPerOp.toFixed(2)} / ${costOf(v.costs, 'getOrSet, miss, GET first').commandsPerOp.toFixed(2)} | ≤ 1 more |`,
    `| miss latency, one call in flight, / plain cache-aside: leasing read / GET first | ${v.missLatency.toFixed(2)} / ${v.missLatencyWarm.toFixed(2)} | ≤ 1.5 |`,
    `| **misses at 64 in flight / plain cache-aside, median of ${MISS_ROUNDS} paired rounds** (${median(v.misses.base).toFixed(0)} against ${median(v.misses.lib).toFixed(0)} ops/s) | **${v.misses.ratio.toFixed(3)}** | ≥ 0.7 |`,
    `| stampede: median last caller / the ${STAMPEDE_FETCH_MS} ms fetch (fetches per run: ${v.runs.map((r) => r.fetches).join(', ')}) | ${(v.lastMedian / STAMPEDE_FETCH_MS).toFixed(2)} | ≤ 1.2 |`,
    '',
    `Per round, misses: ${v.misses.ratios.map((x) => x.toFixed(3)).join(', ')}. Commands per miss under load: ${v.misses.commandsPerMiss.toFixed(2)} (MONITOR over ${v.misses.counted} calls). CPU per miss: cache-aside ${base.redisUs.toFixed(1)} µs in Valkey + ${base.nodeUs.toFixed(1)} µs in Node.js, \`getOrSet\` ${lib.redisUs.toFixed(1)} + ${lib.nodeUs.toFixed(1)} µs; ${v.misses.writeScript.setUsPerCall.toFixed(2)} µs per \`SET\` in Valkey. Stampede fetch start (median) ${v.fetchStartMedian.toFixed(1)} ms.`,
  ];
}

async function main(): Promise<void> {
  const server = process.env.REDIS_URL === undefined ? await startRedisServer() : undefined;
  const url = process.env.REDIS_URL ?? (server as { url: string }).url;
  const prefix = `bench:${process.pid}:`;
  const raw = await rawClient(url);
  // Same key text on both sides (`…:c:user:7:profile` and `…:r:user:7:profile`): equal bytes on the wire.
  const cache = createCache({ redis: url, prefix: `${prefix}c:` });
  await cache.ready();

  for (let i = 0; i < KEYS; i++) await cache.set(`user:${i}:profile`, profile(i), 3600);
  // The baseline reads the same payloads, stored the way a hand-rolled cache stores them.
  for (let i = 0; i < KEYS; i++) await raw.set(`${prefix}r:user:${i}:profile`, JSON.stringify(profile(i)), { expiration: { type: 'EX', value: 3600 } });

  const baseline = (i: number) => raw.get(`${prefix}r:user:${i}:profile`).then((s) => (s === null ? null : JSON.parse(s) as unknown));
  const viaCache = (i: number) => cache.getOrSet(`user:${i}:profile`, () => profile(i), 3600);

  // Warm-up: JIT both paths.
  await drive(baseline, 500);
  await drive(viaCache, 500);

  const { base, lib } = await pairedRounds(baseline, viaCache, ROUNDS, ROUND_MS);
  const stats = await cache.getStats();
  if (stats.misses > 0 || stats.errors > 0) throw new Error(`bench invalid: ${stats.misses} misses, ${stats.errors} errors on warm keys`);
  const ratios = base.map((b, i) => (lib[i] ?? 0) / b);
  const ratio = median(ratios);
  const { costs, misses, runs, lastMedian, fetchStartMedian, extraMiss, extraMissWarm, extraHit, missLatency, missLatencyWarm } = await missPath(raw, url, prefix);
  const valkey = await onValkey(prefix);

  const table = [
    '| path | median ops/s | rounds (ops/s) |',
    '|---|---:|---|',
    `| raw node-redis \`GET\` + \`JSON.parse\` | ${median(base).toFixed(0)} | ${base.map((x) => x.toFixed(0)).join(', ')} |`,
    `| \`cache.getOrSet\` (warm hit) | ${median(lib).toFixed(0)} | ${lib.map((x) => x.toFixed(0)).join(', ')} |`,
    '',
    `**Ratio (getOrSet / baseline), median of ${ROUNDS} paired rounds: ${ratio.toFixed(3)}** (target ≥ 0.85; per round: ${ratios.map((x) => x.toFixed(3)).join(', ')})`,
    '',
    '## What a hit and a miss cost (one call in flight)',
    '',
    'Each command below is one round trip when calls run one at a time. Commands counted with MONITOR over 200 calls; latency is the median of 5 alternating rounds of 400 sequential calls.',
    '',
    '| path | Redis commands / call | µs / call |',
    '|---|---:|---:|',
    ...costs.map((c) => `| ${c.path} | ${c.commandsPerOp.toFixed(2)} | ${c.usPerOp.toFixed(0)} |`),
    '',
    `**Extra round trips vs plain cache-aside: hit ${extraHit.toFixed(2)} (target 0), miss ${extraMiss.toFixed(2)} with a leasing read, ${extraMissWarm.toFixed(2)} with a GET first (target ≤ 1)**. A leasing read is \`SET <key> <lease> NX PX … GET\`: one command that returns the entry as a GET would and, when the key holds nothing, takes the lease under the key itself; after the fetch, \`EVAL\` of the short WRITE_LEASED script writes only while the lease holds and announces the write. With a GET first, the lease is that same \`SET … NX … GET\` after the GET missed. getOrSet answers once the value is fetched, the write already on the wire ahead of any later call. **Miss latency / plain cache-aside: ${missLatency.toFixed(2)} with a leasing read, ${missLatencyWarm.toFixed(2)} with a GET first** (target ≤ 1.5).`,
    '',
    '## Misses under load (64 in flight, every key cold)',
    '',
    `Paired rounds of ${ROUND_MS} ms: plain cache-aside (\`GET\`, then \`SET … EX\` with the value) on the raw node-redis client against \`getOrSet\` (leases on, default options), each call on a key never used before. Every read misses, so the default leasing reads are on: a miss is two commands, \`SET … NX … GET\` and \`EVAL\` (${misses.commandsPerMiss.toFixed(2)} per miss counted with MONITOR over ${misses.counted} calls), as cache-aside's \`GET\` and \`SET\`; the \`EVAL\` is a Lua script, and the lease check costs Redis CPU that a plain \`SET\` does not.`,
    '',
    '| path | median ops/s |',
    '|---|---:|',
    `| plain cache-aside (GET + SET) | ${median(misses.base).toFixed(0)} |`,
    `| \`getOrSet\` miss | ${median(misses.lib).toFixed(0)} |`,
    '',
    `**Ratio (getOrSet / cache-aside), median of ${MISS_ROUNDS} paired rounds: ${misses.ratio.toFixed(3)}** (target ≥ 0.7; per round: ${misses.ratios.map((x) => x.toFixed(3)).join(', ')})`,
    '',
    `CPU per miss over one more second of each (Redis from \`INFO cpu\`, Node.js from \`process.cpuUsage\`): cache-aside ${misses.cpu.base.redisUs.toFixed(1)} µs in Redis + ${misses.cpu.base.nodeUs.toFixed(1)} µs in Node.js, \`getOrSet\` ${misses.cpu.lib.redisUs.toFixed(1)} + ${misses.cpu.lib.nodeUs.toFixed(1)} µs. Both processes share this machine's two cores, so the throughput ratio follows the ratio of total CPU per miss (${((misses.cpu.base.redisUs + misses.cpu.base.nodeUs) / (misses.cpu.lib.redisUs + misses.cpu.lib.nodeUs)).toFixed(2)} here). In Redis (\`INFO commandstats\` over that second): the write script ${misses.writeScript.usPerCall.toFixed(1)} µs per \`EVAL\` carrying ${misses.writeScript.writesPerCall.toFixed(1)} writes (leased writes that finish together share one), ${(misses.writeScript.usPerCall / misses.writeScript.writesPerCall).toFixed(1)} µs per write, against ${misses.writeScript.setUsPerCall.toFixed(2)} µs per \`SET\` (the leasing reads', and those the script runs).`,
    '',
    '## The distributed stampede (4 instances × 250 callers, one cold key)',
    '',
    `Four caches with their own connections, 250 concurrent \`getOrSet\` each on one cold key, fetcher ${STAMPEDE_FETCH_MS} ms; ${STAMPEDE_RUNS} runs on fresh keys, after ${STAMPEDE_WARM_UP_RUNS} unmeasured ones (the JIT). Waiters on the three instances without the lease learn the write from Redis (\`SPUBLISH\` on the lease's channel, lease-watch.ts), polling only as the fallback.`,
    '',
    '| run | fetches | fetch started (ms) | last caller answered (ms) |',
    '|---:|---:|---:|---:|',
    ...runs.map((r, i) => `| ${i + 1} | ${r.fetches} | ${r.fetchStartMs.toFixed(1)} | ${r.lastMs.toFixed(1)} |`),
    '',
    `**Median last caller: ${lastMedian.toFixed(1)} ms = ${(lastMedian / STAMPEDE_FETCH_MS).toFixed(2)} × the fetch** (target ≤ 1.2; median fetch start ${fetchStartMedian.toFixed(1)} ms: the time 1,000 calls take to read and lease). Fetches per run: ${runs.map((r) => r.fetches).join(', ')}.`,
    '',
    ...valkeySection(valkey),
  ].join('\n');
  const report = [
    '# getOrSet benchmark: warm hits, misses, the stampede',
    '',
    machineHeader('npm run bench'),
    `- Setup: ${KEYS} warm keys (~600-byte profiles), ${IN_FLIGHT} calls in flight, ${ROUNDS} alternating rounds of ${ROUND_MS} ms, redis-server ${server === undefined ? 'at REDIS_URL' : 'started by the bench on loopback'}, ${LIBRARY_MEASURED}`,
    '',
    table,
    '',
  ].join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${today()}-bench.md`, report);
  assertRoundTrips('', { extraHit, extraMiss, extraMissWarm });
  if (typeof valkey !== 'string') assertRoundTrips(' on Valkey', valkey);

  await cache.invalidatePattern('*');
  await cache.close();
  for (let i = 0; i < KEYS; i++) await raw.del(`${prefix}r:user:${i}:profile`);
  await raw.close();
  await server?.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
