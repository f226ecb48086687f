/**
 * `npm run bench`: getOrSet on warm keys, 64 calls in flight, against the raw node-redis
 * GET + JSON.parse baseline, in the same run, on the same redis-server. Rounds alternate
 * baseline and cache so drift on a shared machine hits both alike; the median round is reported.
 *
 * Uses REDIS_URL when set, otherwise starts a throwaway redis-server on a free port.
 * Writes bench/results/<date>-bench.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createClient } from 'redis';
import { createCache } from '../src/cache/index.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import { machineHeader, today } from './machine.ts';

const IN_FLIGHT = 64;
const KEYS = 1000;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const profile = (id: number) => ({
  id,
  displayName: `User ${id}`,
  bio: 'Builds things. '.repeat(8),
  avatarUrl: `https://cdn.example.com/avatars/${id}.png`,
  guilds: [1, 2, 3].map((g) => ({ id: g * id, role: 'member' })),
  createdAt: '2025-01-01T00:00:00.000Z',
});

async function drive(op: (i: number) => Promise<unknown>, durationMs: number): Promise<number> {
  let done = 0;
  const until = performance.now() + durationMs;
  const worker = async (w: number): Promise<void> => {
    let i = w;
    while (performance.now() < until) {
      await op(i % KEYS);
      i += IN_FLIGHT;
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
  return (done / (performance.now() - t0)) * 1000;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

async function main(): Promise<void> {
  const server = process.env.REDIS_URL === undefined ? await startRedisServer() : undefined;
  const url = process.env.REDIS_URL ?? (server as { url: string }).url;
  const prefix = `bench:${process.pid}:`;
  const raw = createClient({ url });
  raw.on('error', () => {});
  await raw.connect();
  const cache = createCache({ redis: url, prefix });
  await cache.ready();

  for (let i = 0; i < KEYS; i++) await cache.set(`user:${i}:profile`, profile(i), 3600);
  // The baseline reads the same payloads, stored the way a hand-rolled cache stores them.
  for (let i = 0; i < KEYS; i++) await raw.set(`${prefix}raw:${i}`, JSON.stringify(profile(i)), { expiration: { type: 'EX', value: 3600 } });

  const baseline = (i: number) => raw.get(`${prefix}raw:${i}`).then((s) => (s === null ? null : JSON.parse(s) as unknown));
  const viaCache = (i: number) => cache.getOrSet(`user:${i}:profile`, () => profile(i), 3600);

  // Warm-up: JIT both paths.
  await drive(baseline, 500);
  await drive(viaCache, 500);

  const base: number[] = [];
  const lib: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    base.push(await drive(baseline, ROUND_MS));
    lib.push(await drive(viaCache, ROUND_MS));
  }
  const stats = await cache.getStats();
  if (stats.misses > 0 || stats.errors > 0) throw new Error(`bench invalid: ${stats.misses} misses, ${stats.errors} errors on warm keys`);
  const ratios = base.map((b, i) => (lib[i] ?? 0) / b);
  const ratio = median(ratios);

  const table = [
    '| path | median ops/s | rounds (ops/s) |',
    '|---|---:|---|',
    `| raw node-redis \`GET\` + \`JSON.parse\` | ${median(base).toFixed(0)} | ${base.map((x) => x.toFixed(0)).join(', ')} |`,
    `| \`cache.getOrSet\` (warm hit) | ${median(lib).toFixed(0)} | ${lib.map((x) => x.toFixed(0)).join(', ')} |`,
    '',
    `**Ratio (getOrSet / baseline), median of ${ROUNDS} paired rounds: ${ratio.toFixed(3)}** (target ≥ 0.85; per round: ${ratios.map((x) => x.toFixed(3)).join(', ')})`,
  ].join('\n');
  const report = [
    '# getOrSet warm-hit benchmark',
    '',
    machineHeader('npm run bench'),
    `- Setup: ${KEYS} warm keys (~600-byte profiles), ${IN_FLIGHT} calls in flight, ${ROUNDS} alternating rounds of ${ROUND_MS} ms, redis-server ${server === undefined ? 'at REDIS_URL' : 'started by the bench on loopback'}`,
    '',
    table,
    '',
  ].join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${today()}-bench.md`, report);

  await cache.close();
  for (let i = 0; i < KEYS; i++) await raw.del(`${prefix}raw:${i}`);
  await raw.close();
  await server?.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
