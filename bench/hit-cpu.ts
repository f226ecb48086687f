/**
 * `npm run bench:hit-cpu`: the CPU a warm getOrSet hit costs in this process, without a network,
 * to price changes to the hit path that `npm run bench` cannot resolve on a noisy VM (its rounds
 * swing by ±15 %; this one's by a few %).
 *
 * The Redis client is replaced by an in-process stand-in that answers every GET sent in one turn
 * of the event loop on the next one, with a freshly decoded string, as node-redis does with a
 * batch of replies. This is a profiling rig, not a test: correctness is tested on real Redis.
 *
 * Three paths, in alternating rounds, 64 calls in flight, CPU time (process.cpuUsage) per call:
 * - the stand-in's GET + JSON.parse (what the hand-written baseline does, minus node-redis);
 * - getOrSet on entries stored as JSON entries (`[fresh,grace,fetchMs,failSafe,<json>]`);
 * - getOrSet on the same values in the general form (`fresh;grace;fetchMs;failSafe|c<json>`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Cache } from '../src/cache/cache.ts';
import { Guard } from '../src/cache/guard.ts';
import { RedisStore, type NodeRedisClient } from '../src/cache/redis-store.ts';
import { SingleConnection } from '../src/cache/topology/single.ts';
import { encode } from '../src/cache/serializer.ts';
import { IN_FLIGHT, KEYS, keepInFlight, median, profile } from './hit-load.ts';
import { machineHeader, today } from './machine.ts';

const ROUNDS = 15;
const ROUND_MS = 300;

const freshUntil = Date.now() + 3_600_000;
const stored = new Map<string, Buffer>();
for (let i = 0; i < KEYS; i++) {
  const json = encode(profile(i)).slice(1);
  stored.set(`j:user:${i}:profile`, Buffer.from(`[${freshUntil},${freshUntil},0,0,${json}]`));
  stored.set(`g:user:${i}:profile`, Buffer.from(`${freshUntil};${freshUntil};0;0|c${json}`));
  stored.set(`r:user:${i}:profile`, Buffer.from(json));
}

let queue: [(v: string | null) => void, string][] = [];
let scheduled = false;
function answer(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  for (const [resolve, key] of batch) resolve(stored.get(key)?.toString() ?? null);
}
function get(key: string): Promise<string | null> {
  return new Promise((resolve) => {
    queue.push([resolve, key]);
    if (!scheduled) {
      scheduled = true;
      setImmediate(answer);
    }
  });
}
const standIn = { isReady: true, isOpen: true, once() {}, on() {}, sendCommand: (args: string[]) => get(args[1] ?? ''), dbSize: () => Promise.resolve(stored.size) };

function cacheOn(prefix: string): Cache {
  const guard = new Guard({ commandTimeoutMs: 500, breakerThreshold: 5, breakerCooldownMs: 1000, now: () => Date.now() });
  const store = new RedisStore(new SingleConnection(standIn as unknown as NodeRedisClient, false), guard, { keyPrefix: prefix, firstConnectWaitMs: 500, jsonEntries: true });
  return new Cache({ prefix, onError: (err) => console.error(err) }, { store });
}

/** CPU ns per call of op, IN_FLIGHT in flight for durationMs. */
async function cpuPerCall(op: (i: number) => Promise<unknown>, durationMs: number): Promise<number> {
  const c0 = process.cpuUsage();
  const done = await keepInFlight(op, durationMs);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / done;
}

const jsonCache = cacheOn('j:');
const generalCache = cacheOn('g:');
const paths: [string, (i: number) => Promise<unknown>][] = [
  ['stand-in GET + JSON.parse', (i) => get(`r:user:${i}:profile`).then((s) => (s === null ? null : (JSON.parse(s) as unknown)))],
  ['getOrSet, JSON entry', (i) => jsonCache.getOrSet(`user:${i}:profile`, () => profile(i), 3600)],
  ['getOrSet, general form', (i) => generalCache.getOrSet(`user:${i}:profile`, () => profile(i), 3600)],
];
for (const [, op] of paths) await cpuPerCall(op, 1000); // JIT warm-up
const ns = paths.map((): number[] => []);
for (let r = 0; r < ROUNDS; r++) {
  // Rotate the order each round so no path always runs first.
  for (let k = 0; k < paths.length; k++) {
    const p = (r + k) % paths.length;
    ns[p]?.push(await cpuPerCall((paths[p] as [string, (i: number) => Promise<unknown>])[1], ROUND_MS));
  }
}
for (const c of [jsonCache, generalCache]) {
  const s = await c.getStats();
  if (s.misses > 0 || s.errors > 0) throw new Error(`bench invalid: ${s.misses} misses, ${s.errors} errors`);
}
const base = median(ns[0] ?? []);
const report = [
  '# CPU per warm hit, no network',
  '',
  machineHeader('npm run bench:hit-cpu'),
  `- Setup: ${KEYS} warm keys (~600-byte profiles), ${IN_FLIGHT} calls in flight, ${ROUNDS} rounds of ${ROUND_MS} ms per path in rotating order, an in-process stand-in for the Redis client (see bench/hit-cpu.ts)`,
  '',
  '| path | median CPU ns per call | over the stand-in GET + JSON.parse |',
  '|---|---:|---:|',
  ...paths.map(([name], p) => {
    const m = median(ns[p] ?? []);
    return `| ${name} | ${m.toFixed(0)} | ${p === 0 ? '' : (m - base).toFixed(0)} |`;
  }),
].join('\n');
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/${today()}-hit-cpu.md`;
writeFileSync(file, report + '\n');
console.log(`${report}\n\nWritten to ${file}`);
await jsonCache.close();
await generalCache.close();
