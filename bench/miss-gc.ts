/**
 * `npm run bench:miss-gc`: what the miss path leaves to Node.js's garbage collector. Misses at 64
 * in flight on distinct cold keys, each path in a child process of its own under
 * `--trace-gc-nvp`, for 3 s after 2 s of warm-up: misses a second, Node.js CPU per miss, and per
 * young-generation collection (scavenge) its pause, the bytes that survived it and the bytes it
 * promoted to the old generation. Promoted bytes are what a call's state costs when something
 * keeps it past one collection (key-table.ts says what did).
 *
 * `-- --compare <path to another build's dist/cache/index.js>` measures that build too, in
 * alternating runs, as the before of a change (build the other commit in a `git worktree`).
 * Paths: plain cache-aside on node-redis (`GET`, then `SET … EX`), getOrSet with the bench's
 * synchronous fetcher, and getOrSet with an async one (its fetch is entered in the in-flight
 * table). Writes bench/results/<date>-miss-gc.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { drive, median, profile } from './hit-load.ts';
import { machineHeader, today } from './machine.ts';
import { cacheAsideMisses } from './miss-load.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import type * as LibraryModule from './library.ts';

const PATHS = ['cache-aside', 'getOrSet', 'getOrSet, async fetcher'] as const;
type Path = (typeof PATHS)[number];
const RUNS = Number(process.env.MISS_GC_RUNS ?? 3);
const WARM_MS = 2000;
const MEASURE_MS = 3000;
const THIS_BUILD = 'dist/cache/index.js';

interface Run {
  rate: number;
  nodeUs: number;
  scavenges: number;
  pauseMs: number;
  survivedKb: number;
  promotedKb: number;
}

/** In a child: drive one path against REDIS url, printing markers around the measured window. */
async function child(path: Path, url: string, library: string | undefined): Promise<void> {
  const { createCache } = library === undefined ? await import('./library.ts') : ((await import(library)) as typeof LibraryModule);
  const raw = createClient({ url });
  raw.on('error', () => {});
  await raw.connect();
  // A connected cache in every child, cache-aside's too: each path runs beside the same library
  // and connections, so cache-aside's row is the control for its build's.
  const cache = createCache({ redis: url, prefix: 'gc:' });
  await cache.ready();
  let n = 0;
  const ops: Record<Path, () => Promise<unknown>> = {
    'cache-aside': cacheAsideMisses(raw, 'gc:raw:', 60),
    getOrSet: () => {
      const i = n++;
      return cache.getOrSet(`user:${i}:profile`, () => profile(i), 60);
    },
    'getOrSet, async fetcher': () => {
      const i = n++;
      return cache.getOrSet(`user:${i}:profile`, async () => profile(i), 60);
    },
  };
  const op = ops[path];
  await drive(op, WARM_MS);
  console.log('MISS-GC-START');
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const rate = await drive(op, MEASURE_MS);
  const cpu = process.cpuUsage(cpu0);
  const calls = (rate * (performance.now() - t0)) / 1000;
  console.log(`MISS-GC-END ${JSON.stringify({ rate, nodeUs: (cpu.user + cpu.system) / calls })}`);
  await cache.close();
  await raw.close();
}

/** One child run of path: its figures from the markers and the scavenge lines between them. */
function measure(path: Path, url: string, library: string | undefined): Promise<Run> {
  const args = ['--trace-gc-nvp', '--import', 'tsx', fileURLToPath(import.meta.url)];
  const env = { ...process.env, MISS_GC_CHILD: path, MISS_GC_URL: url, MISS_GC_LIBRARY: library ?? '' };
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const window = out.split('MISS-GC-START')[1]?.split('MISS-GC-END');
      const end = window?.[1] === undefined ? undefined : (JSON.parse(window[1].split('\n')[0] ?? '') as { rate: number; nodeUs: number });
      if (code !== 0 || window === undefined || end === undefined) return reject(new Error(`miss-gc child (${path}) exited ${code}:\n${out.slice(-2000)}`));
      const scavenges = (window[0] ?? '').split('\n').filter((l) => l.includes('gc=s '));
      const field = (line: string, name: string): number => Number(new RegExp(`\\b${name}=([\\d.]+)`).exec(line)?.[1] ?? NaN);
      const mean = (name: string): number => scavenges.reduce((s, l) => s + field(l, name), 0) / Math.max(1, scavenges.length);
      resolve({ ...end, scavenges: scavenges.length, pauseMs: mean('pause'), survivedKb: mean('new_space_survived') / 1024, promotedKb: mean('promoted') / 1024 });
    });
  });
}

/** The commit a build's sources are at (git, in the build's directory), for the report; '' when it cannot tell. */
function commitOf(dir: string): string {
  try {
    const head = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', dir, 'status', '--porcelain', '--untracked-files=no', '--', ':(top,glob)src/cache/**/*.ts'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} with uncommitted changes to src/cache/**/*.ts` : head;
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--compare');
  const other = at === -1 ? undefined : process.argv[at + 1];
  if (at !== -1 && other === undefined) throw new Error('--compare needs the path of another build’s dist/cache/index.js');
  const label = (path: string, dir: string): string => {
    const commit = commitOf(dir);
    return commit === '' ? path : `${path} (${commit})`;
  };
  const here = fileURLToPath(new URL('..', import.meta.url));
  const builds: [string, string | undefined][] = [[label(THIS_BUILD, here), undefined], ...(other === undefined ? [] : [[label(other, dirname(other)), other] as [string, string]])];
  const server = await startRedisServer();
  const raw = createClient({ url: server.url });
  raw.on('error', () => {});
  await raw.connect();
  const results = new Map<string, Run[]>();
  try {
    for (let r = 0; r < RUNS; r++) {
      for (const path of PATHS) {
        for (const [name, library] of r % 2 === 0 ? builds : [...builds].reverse()) {
          // The bench's own server: each run starts on an empty keyspace.
          await raw.flushAll();
          const run = await measure(path, server.url, library);
          const key = `${name}\0${path}`;
          results.set(key, [...(results.get(key) ?? []), run]);
          console.error(`${path} (${name}), run ${r + 1}: ${run.rate.toFixed(0)}/s, ${run.nodeUs.toFixed(2)} µs, promoted ${run.promotedKb.toFixed(0)} KB per scavenge`);
        }
      }
    }
  } finally {
    await raw.close();
    await server.stop();
  }
  const row = (name: string, path: Path): string => {
    const runs = results.get(`${name}\0${path}`) ?? [];
    const m = (f: (r: Run) => number, digits: number): string => median(runs.map(f)).toFixed(digits);
    const all = (f: (r: Run) => number): string => runs.map((r) => f(r).toFixed(0)).join(', ');
    return `| ${path} | \`${name}\` | ${m((r) => r.rate, 0)} | ${m((r) => r.nodeUs, 2)} | ${m((r) => r.scavenges, 0)} | ${m((r) => r.pauseMs, 2)} | ${m((r) => r.survivedKb, 0)} | ${m((r) => r.promotedKb, 0)} (${all((r) => r.promotedKb)}) |`;
  };
  const report = [
    '# The miss path and the garbage collector',
    '',
    machineHeader('npm run bench:miss-gc' + (other === undefined ? '' : ` -- --compare ${other}`)),
    `- Setup: 64 misses in flight on distinct cold keys, ${WARM_MS / 1000} s of warm-up then ${MEASURE_MS / 1000} s measured, each in a child process of its own under \`node --trace-gc-nvp\`, on a redis-server the bench starts (flushed before each run); ${RUNS} runs of each, builds alternating. Figures are medians over the runs; a scavenge is a young-generation collection.`,
    '',
    '| path | build | misses/s | Node.js µs / miss | scavenges | pause ms / scavenge | survived KB / scavenge | promoted KB / scavenge (each run) |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...PATHS.flatMap((path) => builds.map(([name]) => row(name, path))),
    '',
  ].join('\n');
  console.log(report);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${today()}-miss-gc.md`, report);
}

const childPath = process.env.MISS_GC_CHILD as Path | undefined;
if (childPath !== undefined) {
  await child(childPath, process.env.MISS_GC_URL ?? '', process.env.MISS_GC_LIBRARY || undefined);
} else {
  await main();
}
