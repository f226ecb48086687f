/**
 * `npm run bench:l1`: the in-process tier (issue 13).
 *
 * 1. An L1 hit through `getOrSet` (Redis behind it) against lru-cache's `get` on the same
 *    values, in the same harness (64 calls in flight, each awaited, as a request handler awaits
 *    the cache), paired rounds as in `npm run bench`; target ≥ 0.5.
 * 2. What a miss costs with the tier on: Redis commands per miss (MONITOR), against the tier off.
 * 3. Propagation: instance A (this process) writes a key that instance B (a child process,
 *    bench/l1-reader.ts) holds in L1; the time from A's write completing to B's first read of
 *    the new value, over 1,000 writes: p50, p99, max (target p99 ≤ 2 ms). Twice: B idle between
 *    reads (a server between requests), and B reading in a busy loop (a server never idle).
 *
 * Starts its own redis-server unless REDIS_URL is set. Writes bench/results/<date>-l1.md.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { createClient } from 'redis';
import { createCache } from '../src/cache/index.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import { drive, KEYS, median, pairedRounds, profile } from './hit-load.ts';
import { machineHeader, today } from './machine.ts';
import { countCommands } from './monitor.ts';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 40);
const WRITES = Number(process.env.BENCH_L1_WRITES ?? 1000);

type RedisClient = ReturnType<typeof createClient>;
const wallNow = (): number => performance.timeOrigin + performance.now();
const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

async function hitRatio(url: string, prefix: string): Promise<{ base: number[]; lib: number[]; ratio: number; ratios: number[] }> {
  const cache = createCache({ redis: url, prefix: `${prefix}h:`, l1: { maxEntries: 2 * KEYS } });
  await cache.ready();
  while ((await cache.getStats()).l1?.channel !== 'up') await new Promise((r) => setTimeout(r, 5));
  const lru = new LRUCache<string, object>({ max: 2 * KEYS });
  for (let i = 0; i < KEYS; i++) {
    await cache.set(`user:${i}:profile`, profile(i), 3600);
    lru.set(`user:${i}:profile`, profile(i));
  }
  const fetcher = (): never => {
    throw new Error('every key is cached');
  };
  const lib = (i: number): Promise<unknown> => cache.getOrSet(`user:${i}:profile`, fetcher, 3600);
  // The same work around the lookup: the key built, the call awaited.
  const base = async (i: number): Promise<unknown> => lru.get(`user:${i}:profile`);
  // Fill L1 (the sets' own invalidations arrive first, or a read is not kept: memory-tier.ts).
  await new Promise((r) => setTimeout(r, 200));
  for (let round = 0; round < 3; round++) for (let i = 0; i < KEYS; i++) await lib(i);
  await drive(base, 1000);
  await drive(lib, 1000);
  const before = await cache.getStats();
  const rounds = await pairedRounds(base, lib, ROUNDS, ROUND_MS);
  const after = await cache.getStats();
  const l2 = after.l2Hits - before.l2Hits;
  if (after.misses > 0 || after.errors > 0 || l2 > 0) throw new Error(`l1 bench invalid: ${after.misses} misses, ${after.errors} errors, ${l2} reads from Redis during the rounds`);
  await cache.invalidatePattern('*');
  await cache.close();
  const ratios = rounds.base.map((b, i) => (rounds.lib[i] ?? 0) / b);
  return { ...rounds, ratio: median(ratios), ratios };
}

async function missCommands(raw: RedisClient, url: string, prefix: string): Promise<{ on: number; off: number }> {
  const out = { on: 0, off: 0 };
  for (const tier of ['on', 'off'] as const) {
    const cache = createCache({ redis: url, prefix: `${prefix}m${tier}:`, ...(tier === 'on' ? { l1: {} } : {}) });
    await cache.ready();
    // The channel's own set-up commands (CLIENT ID, SETNAME, TRACKING, SUBSCRIBE) before counting.
    if (tier === 'on') while ((await cache.getStats()).l1?.channel !== 'up') await new Promise((r) => setTimeout(r, 5));
    await cache.getOrSet('warm-up', () => 1, 60);
    const N = 200;
    // The tier's own connection pings every 250 ms: not a command of any miss.
    const n = await countCommands(raw, async () => {
      for (let i = 0; i < N; i++) await cache.getOrSet(`user:${i}:profile`, () => profile(i), 60);
      await cache.idle();
    }, /"PING"/);
    out[tier] = n / N;
    await cache.invalidatePattern('*');
    await cache.close();
  }
  return out;
}

async function propagation(url: string, prefix: string, mode: 'idle' | 'spin'): Promise<number[]> {
  const key = 'leaderboard:global';
  const a = createCache({ redis: url, prefix: `${prefix}p:` });
  await a.ready();
  await a.set(key, { version: 0 }, 3600);
  const child = fork(fileURLToPath(new URL('./l1-reader.ts', import.meta.url)), [url, `${prefix}p:`, key, mode], { execArgv: ['--import', 'tsx'] });
  const next = <T>(): Promise<T> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`reader exited with ${code}`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as T);
      });
    });
  await next<{ type: 'ready' }>();
  const delays: number[] = [];
  try {
    // Version 0 first: B holds it in L1 before the first measured write.
    child.send({ type: 'expect', version: 0 });
    await next<{ type: 'armed' }>();
    await next<{ type: 'seen'; version: number; atMs: number }>();
    for (let v = 1; v <= WRITES; v++) {
      child.send({ type: 'expect', version: v });
      await next<{ type: 'armed' }>();
      const seen = next<{ type: 'seen'; version: number; atMs: number }>();
      await a.set(key, { version: v }, 3600);
      const writtenAt = wallNow();
      const s = await seen;
      delays.push(s.atMs - writtenAt);
    }
  } finally {
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
    await a.invalidatePattern('*');
    await a.close();
  }
  return delays;
}

async function main(): Promise<void> {
  const server = process.env.REDIS_URL === undefined ? await startRedisServer() : undefined;
  const url = process.env.REDIS_URL ?? (server as { url: string }).url;
  const prefix = `bench-l1:${process.pid}:`;
  const raw = createClient({ url });
  raw.on('error', () => {});
  await raw.connect();

  const hits = await hitRatio(url, prefix);
  const misses = await missCommands(raw, url, prefix);
  const spread = (delays: number[]): { p50: number; p99: number; max: number } => {
    const sorted = [...delays].sort((x, y) => x - y);
    return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
  };
  const idle = spread(await propagation(url, `${prefix}i`, 'idle'));
  const spin = spread(await propagation(url, `${prefix}s`, 'spin'));
  const row = (name: string, d: { p50: number; p99: number; max: number }): string => `| ${name} | ${d.p50.toFixed(3)} ms | ${d.p99.toFixed(3)} ms | ${d.max.toFixed(3)} ms |`;

  const report = [
    '# The in-process tier (L1): hit cost, miss cost, propagation',
    '',
    machineHeader('npm run bench:l1'),
    '',
    '## An L1 hit against lru-cache',
    '',
    `\`getOrSet\` on ${KEYS} keys held in L1 (Redis behind it, untouched during the rounds: checked) against \`lru-cache\`'s \`get\` on the same values, both called as \`await op(i)\` with the key built per call, 64 in flight; ${ROUNDS} paired rounds of ${ROUND_MS} ms, alternating order.`,
    '',
    '| path | median calls/s |',
    '|---|---:|',
    `| \`lru.get\` (awaited) | ${median(hits.base).toFixed(0)} |`,
    `| \`cache.getOrSet\`, L1 hit | ${median(hits.lib).toFixed(0)} |`,
    '',
    `**Ratio, median of ${ROUNDS} paired rounds: ${hits.ratio.toFixed(3)}** (target ≥ 0.5; per round: ${hits.ratios.map((x) => x.toFixed(3)).join(', ')})`,
    '',
    '## A miss with the tier on',
    '',
    `Redis commands per \`getOrSet\` miss (MONITOR, 200 misses on cold keys, the tier's heartbeat PINGs excluded): **${misses.on.toFixed(2)} with the tier on, ${misses.off.toFixed(2)} with it off** (target: no extra round trip).`,
    '',
    '## Propagation between two processes',
    '',
    `Instance A (this process) writes a key with \`set\`; instance B (a child process, L1 on, bench/l1-reader.ts) holds the key in L1. Measured from A's \`set\` resolving to B's first \`getOrSet\` that returns the new value (wall clock, both processes on this machine), ${WRITES} writes each way, each after B held the previous version in L1. B reads in one of two ways: **idle**, a server between requests: B sleeps in its event loop until Redis reports a write under the prefix (on a connection of the bench's own: it decides when B looks, not what B sees), then reads until a read returns the new version; **busy**, a server that is never idle: B reads in a loop, yielding to the event loop between reads, so it always wants a core.`,
    '',
    '| B | p50 | p99 | max |',
    '|---|---:|---:|---:|',
    row('idle between reads', idle),
    row('reading in a busy loop', spin),
    '',
    `**p99 ${idle.p99.toFixed(3)} ms with B idle between reads, ${spin.p99.toFixed(3)} ms with B busy** (target ≤ 2 ms). B's read after the eviction goes to Redis, so these times include that read's round trip: they bound how long B can serve the old value from above. The busy reader's tail is the scheduler's: three processes (A, B, Redis) on two cores, and a B that never sleeps loses its core for a slice of a few milliseconds now and then, with the report waiting in its socket (seen in a scratch run: B's own wake-up connection received the report at the same moment its first new read started).`,
    '',
  ].join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${today()}-l1.md`, report);
  await raw.close();
  await server?.stop();
}

await main();
