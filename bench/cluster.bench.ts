/**
 * `npm run bench:cluster`: the cache on Redis Cluster (3 masters, 3 replicas, started on free
 * ports by the test helper, or REDIS_CLUSTER_NODES), against a raw node-redis cluster client.
 *
 * 1. Warm-hit throughput: getOrSet against the raw cluster client's GET + JSON.parse, 64 calls in
 *    flight over keys spread across the masters, in alternating paired rounds (as `npm run bench`).
 * 2. What each path costs, one call at a time: Redis commands per call on each master (MONITOR on
 *    all of them, a marker between calls), the nodes a call touches, and µs per call, for an
 *    untagged hit and miss and a tagged hit and miss. Tag versions live in their own slots, so a
 *    tagged call reaches the tag's master too: in parallel on a hit, one more step on a miss.
 *
 * Writes bench/results/<date>-bench-cluster.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createClient, createCluster } from 'redis';
import { createCache, LIBRARY_MEASURED, type Cache } from './library.ts';
import { keySlot } from '../src/cache/topology/slots.ts';
import { startRedisCluster } from '../test/helpers/redis-topology.ts';
import { drive, IN_FLIGHT, KEYS, median, pairedRounds, profile, sequentialUs } from './hit-load.ts';
import { machineHeader, today } from './machine.ts';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const COUNTED = 100;

type Monitor = ReturnType<typeof createClient>;

interface PathCost {
  path: string;
  commandsPerCall: number;
  nodesPerCall: number;
  /** Commands on the key's own master, per call. */
  onKeyNode: number;
  usPerCall: number;
}

/**
 * Commands each master runs per call of op (client commands, not those inside scripts), one
 * call at a time with an ECHO marker sent to every master after each call.
 */
async function perCall(nodes: string[], op: (i: number) => Promise<unknown>, keyNodeOf: (i: number) => string, from: number): Promise<Omit<PathCost, 'path' | 'usPerCall'>> {
  const monitors: Monitor[] = [];
  const lines = new Map<string, string[]>();
  for (const url of nodes) {
    const m = createClient({ url });
    m.on('error', () => {});
    await m.connect();
    const seen: string[] = [];
    lines.set(url, seen);
    await m.monitor((line) => {
      if (line.includes(' lua]')) return;
      const cmd = /"([A-Za-z]+)"(?: "([^"]*)")?/.exec(line);
      if (cmd?.[1] === undefined) return;
      seen.push(cmd[1].toUpperCase() === 'ECHO' && cmd[2]?.startsWith('mark-') === true ? cmd[2] : cmd[1].toUpperCase());
    });
    monitors.push(m);
  }
  const pingers = await Promise.all(
    nodes.map(async (url) => {
      const c = createClient({ url });
      c.on('error', () => {});
      await c.connect();
      return c;
    }),
  );
  for (let i = from; i < from + COUNTED; i++) {
    await op(i);
    await Promise.all(pingers.map((p) => p.echo(`mark-${i}`)));
  }
  await new Promise((r) => setTimeout(r, 100));
  let commands = 0;
  let touched = 0;
  let onKeyNode = 0;
  for (let i = from; i < from + COUNTED; i++) {
    for (const url of nodes) {
      const seen = lines.get(url) ?? [];
      const end = seen.indexOf(`mark-${i}`);
      const start = seen.indexOf(`mark-${i - 1}`);
      const n = seen.slice(start + 1, end).length;
      commands += n;
      if (n > 0) touched++;
      if (url === keyNodeOf(i)) onKeyNode += n;
    }
  }
  for (const m of [...monitors, ...pingers]) m.destroy();
  return { commandsPerCall: commands / COUNTED, nodesPerCall: touched / COUNTED, onKeyNode: onKeyNode / COUNTED };
}

async function main(): Promise<void> {
  const given = process.env['REDIS_CLUSTER_NODES'];
  const cluster = given === undefined ? await startRedisCluster() : undefined;
  const rootNodes = given?.split(',').map((u) => u.trim()) ?? cluster?.rootNodes.map((n) => n.url) ?? [];
  const prefix = `bench:${process.pid}:`;
  const raw = createCluster({ rootNodes: rootNodes.map((url) => ({ url })) });
  raw.on('error', () => {});
  await raw.connect();
  const cache = createCache({ cluster: { rootNodes }, prefix: `${prefix}c:` });
  await cache.ready(10_000);

  for (let i = 0; i < KEYS; i++) await cache.set(`user:${i}:profile`, profile(i), 3600);
  for (let i = 0; i < KEYS; i++) await raw.set(`${prefix}r:user:${i}:profile`, JSON.stringify(profile(i)), { expiration: { type: 'EX', value: 3600 } });
  const baseline = (i: number) => raw.get(`${prefix}r:user:${i}:profile`).then((s) => (s === null ? null : (JSON.parse(s) as unknown)));
  const viaCache = (i: number) => cache.getOrSet(`user:${i}:profile`, () => profile(i), 3600);
  await drive(baseline, 500);
  await drive(viaCache, 500);
  const { base, lib } = await pairedRounds(baseline, viaCache, ROUNDS, ROUND_MS);
  const stats = await cache.getStats();
  if (stats.misses > 0 || stats.errors > 0) throw new Error(`bench invalid: ${stats.misses} misses, ${stats.errors} errors on warm keys`);
  const ratios = base.map((b, i) => (lib[i] ?? 0) / b);
  const ratio = median(ratios);

  // Costs per path, one call at a time.
  const masters = raw.masters.map((m) => `redis://${m.host}:${m.port}`);
  const keyNode = (c: Cache, key: string): string => {
    const m = raw.slots[keySlot(c.options.prefix + key)]?.master;
    return m === undefined ? '' : `redis://${m.host}:${m.port}`;
  };
  const costCache = createCache({ cluster: { rootNodes }, prefix: `${prefix}k:` });
  await costCache.ready(10_000);
  // Every master meets each script once (EVALSHA → NOSCRIPT → EVAL) before anything is counted.
  for (let i = 0; i < 30; i++) await costCache.getOrSet(`warm-up:${i}`, () => 1, { ttl: 60, tags: [`warm:${i}`] });
  const paths: [string, (i: number) => Promise<unknown>, (i: number) => string][] = [
    ['getOrSet, miss', (i) => costCache.getOrSet(`u:${i}`, () => profile(i), 3600), (i) => `u:${i}`],
    ['getOrSet, hit', (i) => costCache.getOrSet(`u:${i}`, () => profile(i), 3600), (i) => `u:${i}`],
    ['getOrSet with a tag, miss', (i) => costCache.getOrSet(`g:${i}`, () => profile(i), { ttl: 3600, tags: [`guild:${i % 7}`] }), (i) => `g:${i}`],
    ['getOrSet with a tag, hit', (i) => costCache.getOrSet(`g:${i}`, () => profile(i), { ttl: 3600, tags: [`guild:${i % 7}`] }), (i) => `g:${i}`],
  ];
  // Warm the tag versions' scripts and the tags themselves first, so a miss shows its steady cost.
  for (let t = 0; t < 7; t++) await costCache.getOrSet(`warm-tag:${t}`, () => 1, { ttl: 3600, tags: [`guild:${t}`] });
  const rows: PathCost[] = [];
  const latencyRounds = 3;
  const PER = 300;
  const us = paths.map((): number[] => []);
  for (let r = 0; r < latencyRounds; r++) for (const [p, [, op]] of paths.entries()) us[p]?.push(await sequentialUs(op, 10_000 + r * PER, PER));
  for (const [p, [path, op, keyOf]] of paths.entries()) {
    const counted = await perCall(masters, op, (i) => keyNode(costCache, keyOf(i)), 1000);
    rows.push({ path, ...counted, usPerCall: median(us[p] ?? []) });
  }
  await costCache.invalidatePattern('*');
  await costCache.close();

  const report = [
    '# getOrSet on Redis Cluster',
    '',
    machineHeader('npm run bench:cluster'),
    `- Setup: ${given === undefined ? 'a cluster of 3 masters and 3 replicas started by the bench on loopback (test/helpers/redis-topology.ts)' : `REDIS_CLUSTER_NODES=${given.replace(/\/\/[^@/]*@/g, '//***@')}`}; ${KEYS} warm keys (~600-byte profiles) spread over the masters, ${IN_FLIGHT} calls in flight, ${ROUNDS} alternating rounds of ${ROUND_MS} ms; ${LIBRARY_MEASURED}`,
    '',
    '| path | median ops/s | rounds (ops/s) |',
    '|---|---:|---|',
    `| raw node-redis cluster \`GET\` + \`JSON.parse\` | ${median(base).toFixed(0)} | ${base.map((x) => x.toFixed(0)).join(', ')} |`,
    `| \`cache.getOrSet\` (warm hit) | ${median(lib).toFixed(0)} | ${lib.map((x) => x.toFixed(0)).join(', ')} |`,
    '',
    `**Ratio (getOrSet / baseline), median of ${ROUNDS} paired rounds: ${ratio.toFixed(3)}** (target ≥ 0.85; per round: ${ratios.map((x) => x.toFixed(3)).join(', ')})`,
    '',
    '## What each path costs on the cluster (one call in flight)',
    '',
    `Commands each master ran per call (MONITOR on every master, a marker between calls, ${COUNTED} calls); nodes a call touched; µs per call, median of ${latencyRounds} rounds of ${PER} sequential calls. Commands on different nodes go out at once, so the round trips of a call are the steps it waits for, not its commands: an untagged hit is 1 step (GET), an untagged miss 3 (GET, ACQUIRE, WRITE: as on one Redis); a tagged hit is 1 (GET, with the tag's version read from its own master at the same time); a tagged miss is 4 (GET + tag, TAG_VERSION on the tag's master, ACQUIRE, WRITE with the tag's TTL kept alive alongside), one more than on one Redis.`,
    '',
    '| path | commands / call (all masters) | on the key\'s master | masters touched / call | µs / call |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.path} | ${r.commandsPerCall.toFixed(2)} | ${r.onKeyNode.toFixed(2)} | ${r.nodesPerCall.toFixed(2)} | ${r.usPerCall.toFixed(0)} |`),
    '',
  ].join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${today()}-bench-cluster.md`, report);

  await cache.invalidatePattern('*');
  await cache.close();
  await raw.close();
  await cluster?.stop();
  if (ratio < 0.85) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
