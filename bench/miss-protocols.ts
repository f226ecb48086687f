/**
 * `npm run bench:miss-protocols`: where the miss ratio of `npm run bench` (64 misses in flight on
 * distinct cold keys, against plain cache-aside on the same client) is lost, the library or the
 * protocol. Each path below runs in paired rounds against cache-aside (`GET`, then `SET … EX`),
 * on one redis-server, in one run:
 *
 * - `getOrSet`: the library, default options.
 * - The library's own protocol written by hand on the raw client, with none of the library
 *   around it: the leasing read `SET <key> <marker> NX PX … GET`, then the lease-checked write,
 *   the WRITE_LEASED script (scripts.ts) that getOrSet sends, either
 *   - batched as getOrSet batches it (the writes of one run of JavaScript in one `EVAL`), or
 *   - one `EVALSHA` per write.
 * - The same leasing read, then a script that runs the `SET … PX` and nothing else, one `EVALSHA`
 *   per write: no check either, so not safe, but the least any write sent as a script can cost.
 *   Set against the per-write row it prices the check; against the next row, the script call.
 * - The same leasing read, then a plain `SET … PX` that checks nothing: not safe (a write that
 *   lost its lease overwrites what replaced it), but what the write would cost if Redis had a
 *   compare-and-set command (Redis 8.4's `SET … IFEQ`; this machine's Redis 7.0 has none, so
 *   the check must be Lua).
 *
 * Then the same on Valkey ≥ 8.1 (bench/valkey.ts), which has that command: `getOrSet`, whose
 * write there is `SET <key> <entry> IFEQ <marker> PX …`; that protocol by hand (the leasing read,
 * then the `SET … IFEQ`: safe, and all a miss must send); and the unchecked plain `SET`. There the
 * protocol costs what cache-aside costs, so the gap between the first two rows is the library's
 * own work per miss in Node.js.
 *
 * Each path's CPU per miss (this process's, `process.cpuUsage`, and the server's, `INFO cpu`) is
 * measured over one more second of it. Writes bench/results/<date>-miss-protocols.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createClient } from 'redis';
import { createCache, LIBRARY_MEASURED } from './library.ts';
import { leaseMarker, storedText } from '../src/cache/entry.ts';
import { luaScript, WRITE_LEASED } from '../src/cache/scripts.ts';
import { plainLeaseKey } from '../src/cache/topology/slots.ts';
import { startRedisServer, type RawRedisClient } from '../test/helpers/redis-server.ts';
import { drive, median, pairedRounds, profile } from './hit-load.ts';
import { cacheAsideMisses, cpuPerOp, type CpuPerOp } from './miss-load.ts';
import { valkeyProgram } from './valkey.ts';
import { machineHeader, today } from './machine.ts';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 200);
const ROUNDS = Number(process.env.BENCH_MISS_ROUNDS ?? 20);
const TTL_SECONDS = 60;
const TTL_MS = TTL_SECONDS * 1000;
const LEASE_TTL_MS = 5000;
/** The least a scripted write can do: the SET alone, no lease check (not safe; a floor, measured). */
const SET_ONLY = luaScript(`return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])`);

interface Row {
  path: string;
  ratios: number[];
  cpu: CpuPerOp;
}

type Path = readonly [label: string, op: () => Promise<unknown>];

/** The hand-written paths on `raw`; every call on a key never used before. */
function handWritten(raw: RawRedisClient, prefix: string) {
  let n = 0;
  const refused = { n: 0 };
  const leaseOptions = { condition: 'NX', expiration: { type: 'PX', value: LEASE_TTL_MS }, GET: true } as const;
  /** The leasing read; null: the lease is taken and the value is to be fetched and written. */
  const leasingRead = async (key: string, token: string): Promise<unknown> => {
    const s = await raw.set(key, leaseMarker(token), leaseOptions);
    if (s === null) return null;
    return JSON.parse(s) as unknown;
  };
  // The stored text as getOrSet stores it (a JSON entry); 'c' marks plain JSON (serializer.ts).
  const stored = (key: string, v: unknown): string => {
    const now = Date.now();
    return storedText({ key, value: `c${JSON.stringify(v)}`, freshUntilMs: now + TTL_MS, graceUntilMs: now + TTL_MS, fetchMs: 0, ttlMs: TTL_MS, tags: [] }, 0, true);
  };
  let batch: { key: string; args: string[]; done: (ok: boolean) => void }[] = [];
  const flush = (): void => {
    const part = batch;
    batch = [];
    const keys = part.map((w) => w.key);
    for (const w of part) keys.push(plainLeaseKey(w.key)); // the lease key as one Redis names it (topology/primary.ts)
    void raw.sendCommand(['EVAL', WRITE_LEASED.source, String(keys.length), ...keys, ...part.flatMap((w) => w.args)]).then((reply) => {
      part.forEach((w, i) => w.done(Array.isArray(reply) && Number(reply[i]) === 1));
    });
  };
  const miss = (write: (key: string, token: string, text: string) => Promise<unknown>) => async (): Promise<unknown> => {
    const i = n++;
    const key = `${prefix}user:${i}:profile`;
    const token = `hand${i.toString(36)}`;
    const found = await leasingRead(key, token);
    if (found !== null) return found;
    const v = profile(i);
    await write(key, token, stored(key, v));
    return v;
  };
  return {
    batched: miss(
      (key, token, text) =>
        new Promise<boolean>((done) => {
          if (batch.length === 0) queueMicrotask(flush);
          batch.push({ key, args: [token, text, String(TTL_MS)], done });
        }),
    ),
    perWrite: miss((key, token, text) => raw.sendCommand(['EVALSHA', WRITE_LEASED.sha1, '2', key, plainLeaseKey(key), token, text, String(TTL_MS)])),
    setOnlyScript: miss((key, _token, text) => raw.sendCommand(['EVALSHA', SET_ONLY.sha1, '1', key, text, String(TTL_MS)])),
    unchecked: miss((key, _token, text) => raw.set(key, text, { expiration: { type: 'PX', value: TTL_MS } })),
    compareAndSet: miss(async (key, token, text) => {
      const reply: unknown = await raw.sendCommand(['SET', key, text, 'IFEQ', leaseMarker(token), 'PX', String(TTL_MS)]);
      if (String(reply) !== 'OK') refused.n++;
    }),
    /** `SET … IFEQ` writes that found something other than their marker: none on keys never used before. */
    refused,
  };
}

/**
 * Each path in ROUNDS paired rounds against cache-aside (outer rounds visit every path, so a
 * drift of the shared machine's speed is spread over all), then one more second of each for
 * its CPU per miss.
 */
async function measure(raw: RawRedisClient, aside: () => Promise<unknown>, paths: readonly Path[]): Promise<Omit<Section, 'version'>> {
  for (const [, op] of paths) await drive(op, 1000); // the JIT first, as npm run bench does
  await drive(aside, 1000);
  const ratios: number[][] = paths.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [p, [, op]] of paths.entries()) {
      const { base, lib: rates } = await pairedRounds(aside, op, 1, ROUND_MS);
      ratios[p]?.push((rates[0] ?? 0) / (base[0] ?? 1));
    }
  }
  const asideCpu = await cpuPerOp(raw, aside, 1000);
  const rows: Row[] = [];
  for (const [p, [path, op]] of paths.entries()) rows.push({ path, ratios: ratios[p] ?? [], cpu: await cpuPerOp(raw, op, 1000) });
  return { rows, asideCpu };
}

/** A section of the report: the rows, and cache-aside's own CPU per miss. */
function table(server: string, m: Section): string[] {
  const us = (c: CpuPerOp): string => `${c.nodeUs.toFixed(1)} | ${c.redisUs.toFixed(1)}`;
  return [
    `| path | median ratio | range | Node.js µs / miss | ${server} µs / miss |`,
    '|---|---|---|---:|---:|',
    `| plain cache-aside (\`GET\`, then \`SET … EX\`), the baseline | 1 | – | ${us(m.asideCpu)} |`,
    ...m.rows.map((r) => `| ${r.path} | ${median(r.ratios).toFixed(3)} | ${Math.min(...r.ratios).toFixed(2)}–${Math.max(...r.ratios).toFixed(2)} | ${us(r.cpu)} |`),
  ];
}

type HandWritten = ReturnType<typeof handWritten>;

/** What one server's section measured: its rows, cache-aside's CPU per miss, the server's version. */
interface Section {
  rows: Row[];
  asideCpu: CpuPerOp;
  version: string;
}

/**
 * Starts a server (redis-server, or `program`), measures on it the paths `pathsOf` picks from
 * getOrSet on a fresh cache and the hand-written ones, each call on a key never used before, and
 * stops it. Fails the bench when the library erred or waited on a lease, or a hand-written
 * `SET … IFEQ` found no marker: every key here is cold and its own.
 */
async function onServer(program: string | undefined, pathsOf: (lib: () => Promise<unknown>, hand: HandWritten) => Path[]): Promise<Section> {
  const server = await startRedisServer(program === undefined ? {} : { program });
  const raw = createClient({ url: server.url });
  await raw.connect();
  try {
    await raw.scriptLoad(WRITE_LEASED.source);
    await raw.scriptLoad(SET_ONLY.source);
    const info = await raw.info('server');
    // Valkey reports the Redis version it is compatible with too: its own is what counts.
    const version = (/valkey_version:([\d.]+)/.exec(info) ?? /redis_version:([\d.]+)/.exec(info))?.[1] ?? 'unknown';
    const cache = createCache({ redis: server.url, prefix: 'lib:' });
    await cache.ready();
    let n = 0;
    const lib = (): Promise<unknown> => {
      const i = n++;
      return cache.getOrSet(`user:${i}:profile`, () => profile(i), TTL_SECONDS);
    };
    const hand = handWritten(raw, 'hand:');
    const m = await measure(raw, cacheAsideMisses(raw, 'aside:', TTL_SECONDS), pathsOf(lib, hand));
    await cache.idle();
    const stats = await cache.getStats();
    await cache.close();
    if (stats.errors > 0 || stats.leaseWaits > 0) throw new Error(`bench invalid on ${version}: ${stats.errors} errors, ${stats.leaseWaits} lease waits`);
    if (hand.refused.n > 0) throw new Error(`bench invalid on ${version}: ${hand.refused.n} SET … IFEQ writes by hand found no marker`);
    return { ...m, version };
  } finally {
    await raw.quit();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const redis = await onServer(undefined, (lib, hand) => [
    ['`getOrSet` (the library)', lib],
    ['its protocol by hand, writes batched per run of JavaScript (as getOrSet sends them)', hand.batched],
    ['its protocol by hand, one `EVALSHA` per write', hand.perWrite],
    ['leasing read, then a script that only runs the `SET`, one `EVALSHA` per write (no check: the least a scripted write costs; not safe)', hand.setOnlyScript],
    ['leasing read, then a plain `SET` that checks nothing (what a compare-and-set command would cost; not safe)', hand.unchecked],
  ]);
  const program = valkeyProgram();
  const valkey =
    typeof program === 'object'
      ? `Not measured: ${program.missing}.`
      : await onServer(program, (lib, hand) => [
          ['`getOrSet` (the library; its write is `SET … IFEQ`)', lib],
          ['its protocol by hand: the leasing read, then `SET <key> <entry> IFEQ <marker> PX …` (safe: the write getOrSet sends)', hand.compareAndSet],
          ['leasing read, then a plain `SET` that checks nothing (not safe)', hand.unchecked],
        ]);

  const lines = [
    '# Miss protocols: the library against its own protocol written by hand',
    '',
    machineHeader('npm run bench:miss-protocols'),
    `- Setup: ${LIBRARY_MEASURED}; the hand-written paths use its WRITE_LEASED script and entry format from the sources`,
    '',
    `64 misses in flight, every call on a key never used before; each path in ${ROUNDS} rounds of ${ROUND_MS} ms paired with plain cache-aside (\`GET\`, then \`SET … EX\`) on the same client. Ratio = path / cache-aside throughput; median and range over the rounds. CPU per miss over one more second of each path: this process's (\`process.cpuUsage\`) and the server's (\`INFO cpu\`).`,
    '',
    `## Redis ${redis.version} (no compare-and-set: the lease-checked write is a script)`,
    '',
    ...table('Redis', redis),
    '',
    '## Valkey (`SET … IFEQ`: the lease-checked write is one plain command)',
    '',
    ...(typeof valkey === 'string'
      ? [valkey]
      : [
          `Valkey ${valkey.version}, started by the bench (bench/valkey.ts). The hand-written \`SET … IFEQ\` row is everything a safe miss must send; the difference between it and \`getOrSet\` is the library's own work per miss (the resolver, deadlines, the entry's header, stats, and their promises and garbage).`,
          '',
          ...table('Valkey', valkey),
        ]),
    '',
  ];
  const report = lines.join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${today()}-miss-protocols.md`, report);
}

await main();
