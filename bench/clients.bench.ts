/**
 * `npm run bench:clients`: the cache on a client of each supported node-redis version
 * (test/helpers/client-versions.ts), all in one run on one redis-server, so the versions can be
 * compared with each other:
 *
 * 1. Raw `GET` + `JSON.parse` on that client against a warm `getOrSet` hit through a cache the
 *    client was passed to, 64 calls in flight, in alternating paired rounds (as `npm run bench`).
 *    Each outer round visits every version, so drift on the shared machine is spread over all.
 * 2. A miss with one call in flight (getOrSet with its lease, and plain cache-aside `GET` + `SET`
 *    on the same client for reference), in rounds alternating the versions, on fresh keys.
 *
 * One more row: node-redis 6 created with `commandOptions: { timeout: 0 }`. node-redis 6 gives
 * every command a 5 s timer by default; the row shows what that timer costs a caller's own
 * commands (the cache's commands opt out of it: topology/clients.ts, CACHE_COMMAND_OPTIONS).
 *
 * Writes bench/results/<date>-bench-clients.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as v6 from 'redis-v6';
import { createCache, LIBRARY_MEASURED, type Cache } from './library.ts';
import { CLIENT_VERSIONS, installedVersion, OWN_VERSION, type VersionedClient } from '../test/helpers/client-versions.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import { drive, IN_FLIGHT, KEYS, median, pairedRounds, profile, sequentialUs } from './hit-load.ts';
import { machineHeader, today } from './machine.ts';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 200);
/** Outer rounds; each runs two paired rounds (one in each order) per version. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const MISS_ROUNDS = 5;
const MISSES_PER_ROUND = 150;
const TTL = 3600;

interface Variant {
  label: string;
  client: VersionedClient;
  cache: Cache;
  raw: (i: number) => Promise<unknown>;
  hit: (i: number) => Promise<unknown>;
  base: number[];
  lib: number[];
  missUs: number[];
  asideUs: number[];
}

async function variant(label: string, client: VersionedClient, prefix: string, rawPrefix: string): Promise<Variant> {
  client.on('error', () => {});
  await client.connect();
  const cache = createCache({ redis: client, prefix });
  await cache.ready();
  for (let i = 0; i < KEYS; i++) await cache.set(`user:${i}:profile`, profile(i), TTL);
  return {
    label,
    client,
    cache,
    raw: (i) => client.get(`${rawPrefix}user:${i}:profile`).then((s) => (s === null ? null : (JSON.parse(s as string) as unknown))),
    hit: (i) => cache.getOrSet(`user:${i}:profile`, () => profile(i), TTL),
    base: [],
    lib: [],
    missUs: [],
    asideUs: [],
  };
}

const fmt = (x: number): string => x.toFixed(0);

async function main(): Promise<void> {
  const started = performance.now();
  const server = await startRedisServer();
  const prefix = `bc:${process.pid}:`;
  // Same key length on both sides (`…:v0:user:7:profile`, `…:rw:user:7:profile`).
  const rawPrefix = `${prefix}rw:`;
  const seeder = OWN_VERSION.client(server.url);
  await seeder.connect();
  for (let i = 0; i < KEYS; i++) await seeder.sendCommand(['SET', `${rawPrefix}user:${i}:profile`, JSON.stringify(profile(i)), 'EX', String(TTL)]);
  await seeder.close();

  const variants: Variant[] = [];
  for (const [n, v] of CLIENT_VERSIONS.entries()) variants.push(await variant(v.label, v.client(server.url), `${prefix}v${n}:`, rawPrefix));
  const untimed = `${installedVersion('redis-v6')} RESP3, \`commandOptions: { timeout: 0 }\``;
  variants.push(await variant(untimed, v6.createClient({ url: server.url, commandOptions: { timeout: 0 } }), `${prefix}v${variants.length}:`, rawPrefix));

  for (const v of variants) {
    await drive(v.raw, 300);
    await drive(v.hit, 300);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(r + k) % variants.length] as Variant;
      const { base, lib } = await pairedRounds(v.raw, v.hit, 2, ROUND_MS);
      v.base.push(...base);
      v.lib.push(...lib);
    }
  }

  for (let r = 0; r < MISS_ROUNDS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(r + k) % variants.length] as Variant;
      const from = r * MISSES_PER_ROUND;
      v.missUs.push(await sequentialUs((i) => v.cache.getOrSet(`miss:${i}`, () => profile(i), TTL), from, MISSES_PER_ROUND));
      const asideKey = (i: number): string => `${prefix}aside:${k}:${i}`;
      const aside = async (i: number): Promise<unknown> => {
        const s = await v.client.get(asideKey(i));
        if (s !== null) return JSON.parse(s as string) as unknown;
        const value = profile(i);
        await v.client.sendCommand(['SET', asideKey(i), JSON.stringify(value), 'EX', String(TTL)]);
        return value;
      };
      v.asideUs.push(await sequentialUs(aside, r * MISSES_PER_ROUND, MISSES_PER_ROUND));
    }
  }

  const own = variants.find((v) => v.label === OWN_VERSION.label) as Variant;
  const rows: string[] = [];
  for (const v of variants) {
    const stats = await v.cache.getStats();
    const expectedMisses = MISS_ROUNDS * MISSES_PER_ROUND;
    if (stats.errors > 0 || stats.misses !== expectedMisses) throw new Error(`${v.label}: bench invalid: ${stats.errors} errors, ${stats.misses} misses (expected ${expectedMisses})`);
    const ratio = median(v.base.map((b, i) => (v.lib[i] ?? 0) / b));
    const ownRatio = median(own.base.map((b, i) => (v.lib[i] ?? 0) / b));
    rows.push(`| ${v.label} | ${fmt(median(v.base))} | ${fmt(median(v.lib))} | ${ratio.toFixed(2)} | ${ownRatio.toFixed(2)} | ${fmt(median(v.missUs))} | ${fmt(median(v.asideUs))} |`);
  }
  const rounds = variants.map((v) => `- ${v.label}: raw ${v.base.map(fmt).join(', ')}; getOrSet ${v.lib.map(fmt).join(', ')}`);
  const seconds = (performance.now() - started) / 1000;

  const report = [
    '# The cache on each supported node-redis version',
    '',
    machineHeader('npm run bench:clients'),
    `- Setup: one redis-server started by the bench on loopback; per version, a client created as its user would (\`createClient({ url })\`, \`RESP\` as labelled, node-redis 6's default is RESP3) and a cache it was passed to; ${KEYS} warm keys (~600-byte profiles), ${IN_FLIGHT} calls in flight, ${ROUNDS} outer rounds each running 2 alternating paired rounds of ${ROUND_MS} ms per version; misses: ${MISS_ROUNDS} rounds of ${MISSES_PER_ROUND} sequential calls on fresh keys per version. Whole run: ${seconds.toFixed(0)} s; ${LIBRARY_MEASURED}`,
    '',
    `| node-redis | raw \`GET\` + \`JSON.parse\`, ops/s | \`getOrSet\` warm hit, ops/s | hit / raw (same client) | hit / raw on ${OWN_VERSION.label} | \`getOrSet\` miss, µs (1 in flight) | \`GET\` + \`SET\` miss, µs (1 in flight) |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Ops/s are medians over the paired rounds; each ratio is the median of per-round ratios (the hit and the raw read of the same pair, or of the same pair position for the last column). µs are medians of the rounds\' means.',
    '',
    '## Rounds (ops/s)',
    '',
    ...rounds,
    '',
  ].join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${today()}-bench-clients.md`, report);

  for (const v of variants) {
    await v.cache.invalidatePattern('*');
    await v.cache.close();
    await v.client.close();
  }
  await server.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
