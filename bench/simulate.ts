/**
 * `npm run simulate`: predicts hit rate, database reads and their cost for a given traffic, by
 * replaying the workload model (bench/workload.ts) through the cache library itself
 * (`createCache()` on its memory store) with a `ManualClock`: no real waiting, so a day of
 * traffic takes seconds. Every read is `cache.getOrSetWithMeta(key, fetcher, ttl)` whose
 * fetcher counts one database fetch and the rows it would return; every write deletes what the
 * backend's write deletes (cache-policy.ts).
 *
 *   npm run simulate -- --users 100000 --requests-per-day 1000000
 *   npm run simulate -- --users 2000 --rate 200 --duration 15s --ttl 60
 *   npm run simulate -- --users 100000 --requests-per-day 1000000 --tables
 *
 * `--tables` adds steady-state hit rates by TTL × request rate and by Zipf skew. Those come from
 * the analytical model (bench/simulate/model.ts), which test/bench/simulate-model.test.ts checks
 * against replays of small cells: replaying every cell took minutes.
 *
 * What it does not model: concurrency (two requests for one key while its fetch is in flight
 * are a miss and a coalesced miss on the server, a miss and a hit here), eviction (Redis is
 * assumed large enough; the memory store is sized for every key), and display-name changes.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createCache, ManualClock } from '../src/cache/index.ts';
import type { CachedKind } from '../src/app/cache-policy.ts';
import { machineHeader } from './machine.ts';
import {
  createRng,
  createWorkload,
  defaultTtls,
  isReadOp,
  OPS,
  parseTtlOverrides,
  SESSION_ROWS,
  syntheticWorld,
  trace,
  type OpName,
  type TraceRequest,
  type TtlTable,
  type World,
} from './workload.ts';
import { costTable, DAYS_PER_MONTH, DEFAULT_COST, fmtInt, fmtPct, pct, perOpTable, type CostOptions } from './simulate/report.ts';
import { steadyStateModel } from './simulate/model.ts';
import { maxTtl, steadyWindow, ttlRateTable, zipfTable, type SweepBase } from './simulate/tables.ts';

export { cost, costTable, DAYS_PER_MONTH, DEFAULT_COST, fmtInt, fmtPct, fmtUsd, mdTable, perOpTable, type Cost, type CostOptions } from './simulate/report.ts';

export interface SimulationOptions {
  world: World;
  ratePerSecond: number;
  durationSeconds: number;
  zipf?: number;
  writeRatio?: number;
  seed?: number;
  ttls?: TtlTable;
  /** Time-series bucket, seconds. Default: duration / 60, at least 1 s. */
  bucketSeconds?: number;
  /** Start of the steady-state window, seconds from the start. Default: half the duration. */
  steadyFromSeconds?: number;
  /** Requests replayed, for traces built elsewhere (the load test passes its own); default the workload's. */
  requests?: Iterable<TraceRequest>;
}

export interface OpStats {
  requests: number;
  /** X-Cache HIT (the route's last cache read was a hit). */
  hits: number;
  /** Rows read from the database, with the cache. */
  rows: number;
  /** Rows read from the database, without the cache. */
  rowsWithoutCache: number;
  fetches: number;
}

export interface SimulationResult {
  requests: number;
  /** Read operations (the requests that carry X-Cache). */
  reads: number;
  hits: number;
  /** Percent of read operations answered HIT, like the load test's X-Cache count. */
  hitRate: number;
  /** Same, over [steadyFromSeconds, end), with the requests of that window and the rows they read. */
  steady: { fromSeconds: number; reads: number; hits: number; hitRate: number; requests: number; rowsWithCache: number; rowsWithoutCache: number };
  perOp: Record<OpName, OpStats>;
  /** Every getOrSet call, the chat membership and session lookups included. */
  keyReads: number;
  keyHits: number;
  /** Fetcher runs: database fetches with the cache. */
  fetches: number;
  /** Fetches per cached kind. */
  fetchesByKind: Partial<Record<CachedKind, number>>;
  rowsWithCache: number;
  rowsWithoutCache: number;
  durationSeconds: number;
  ratePerSecond: number;
  /** Hit rate per time bucket. */
  timeline: Array<{ fromSeconds: number; reads: number; hits: number; hitRate: number }>;
  /** Wall-clock time the simulation took. */
  elapsedMs: number;
}

function emptyOps(): Record<OpName, OpStats> {
  const out = {} as Record<OpName, OpStats>;
  for (const op of OPS) out[op] = { requests: 0, hits: 0, rows: 0, rowsWithoutCache: 0, fetches: 0 };
  return out;
}

/** Fewest fetches between two sweeps of expired entries (see simulate). */
const SWEEP_AFTER_FETCHES = 10_000;

/** Upper bound of distinct keys the run can create, to size the memory store like a Redis with room. */
function keyBound(world: World, requests: number): number {
  const s = world.sessionUsers.length;
  const possible = world.users + 2 * world.guilds + world.jobs + world.openJobPages + 2 + 3 * s + 2 * world.chats;
  return Math.max(1000, Math.min(possible, requests * 2 + s) + 1000);
}

/** Replays the trace through createCache() (memory store, ManualClock). */
export async function simulate(opts: SimulationOptions): Promise<SimulationResult> {
  const started = performance.now();
  const { world, ratePerSecond, durationSeconds } = opts;
  const ttls = opts.ttls ?? defaultTtls();
  const seed = opts.seed ?? 1;
  const total = Math.floor(ratePerSecond * durationSeconds);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const t0 = clock.now();
  const maxEntries = keyBound(world, total);
  // A seeded random source for TTL jitter and early refresh, so a replay is reproducible; leases
  // off: they only arbitrate concurrent fetches, and a replay has none (each request completes
  // before the next), so they would cost a random token per miss and change nothing. (Spread in,
  // so this also compiles against a cache library without those options.)
  const replayOptions = { random: createRng(seed ^ 0xcace), leases: false };
  const cache = createCache({ clock, memory: { maxEntries, maxBytes: maxEntries * 512 }, ...replayOptions });

  const bucketMs = Math.max(1, opts.bucketSeconds ?? Math.max(1, Math.round(durationSeconds / 60))) * 1000;
  const steadyFromMs = (opts.steadyFromSeconds ?? durationSeconds / 2) * 1000;
  const perOp = emptyOps();
  const fetchesByKind: Partial<Record<CachedKind, number>> = {};
  const timeline: SimulationResult['timeline'] = [];
  /** Keys that may be present under each tag: deleting them is what invalidating the tag does. */
  const groups = new Map<string, Set<string>>();
  let reads = 0;
  let hits = 0;
  let steadyReads = 0;
  let steadyHits = 0;
  /** Totals when the steady window began: the window's are the differences. */
  let atSteady: { requests: number; rowsWithCache: number; rowsWithoutCache: number } | undefined;
  let keyReads = 0;
  let keyHits = 0;
  let fetches = 0;
  let rowsWithCache = 0;
  let rowsWithoutCache = 0;
  let requests = 0;

  // Log-in writes each session through to the cache (sessions.service.ts), before the traffic,
  // and nothing deletes it. `set` does not jitter and writes no fetch time (so no early refresh):
  // a session written at 0 is fresh until exactly ttls.session, and every request is due before
  // durationSeconds. So while the run is no longer than the session TTL (the default day is
  // exactly that long) every lookup is a hit, and the replay skips them (half the cache calls);
  // a longer run replays them.
  const sessionKey = (i: number): string => `session:sim-${world.sessionUsers[i]}`;
  const replaySessions = durationSeconds > ttls.session;
  if (replaySessions) for (let i = 0; i < world.sessionUsers.length; i++) await cache.set(sessionKey(i), { userId: world.sessionUsers[i] }, ttls.session);

  const source =
    opts.requests ??
    trace(createWorkload({ world, zipf: opts.zipf, writeRatio: opts.writeRatio, seed, ttls }), ratePerSecond, durationSeconds);
  let current: OpStats = perOp.profile;
  let fetchedRows = 0;
  let fetchedKind: CachedKind = 'userProfile';
  const fetcher = (): number => {
    fetches++;
    current.fetches++;
    fetchesByKind[fetchedKind] = (fetchesByKind[fetchedKind] ?? 0) + 1;
    rowsWithCache += fetchedRows;
    current.rows += fetchedRows;
    return 1;
  };
  const getOrSet = async (kind: CachedKind, key: string, rows: number): Promise<boolean> => {
    fetchedRows = rows;
    fetchedKind = kind;
    keyReads++;
    const r = await cache.getOrSetWithMeta(key, fetcher, ttls[kind]);
    const hit = r.status !== 'miss';
    if (hit) keyHits++;
    return hit;
  };

  // The memory store drops an expired entry only when it is read again or swept (lru-cache's
  // timers cannot follow a ManualClock); Redis expires keys by itself. Unswept, the store ends
  // up holding every key the run read (186,536 in the default day at 100,000 users) around a
  // few thousand live ones, and the replay spent most of its time on CPU cache misses in that
  // map and on garbage collection of that heap. getStats() sweeps (MemoryStore.size); doing it whenever the fetches
  // since the last sweep reach the keys that sweep left keeps the store within about twice its
  // live keys and sweeps each entry once. Reads and deletes of an expired entry behave the same
  // swept or not, so the results do not change.
  let fetchesAtSweep = 0;
  let keysAfterSweep = 0;
  for (const req of source) {
    if (fetches - fetchesAtSweep >= Math.max(SWEEP_AFTER_FETCHES, keysAfterSweep)) {
      keysAfterSweep = (await cache.getStats()).keys ?? 0;
      fetchesAtSweep = fetches;
    }
    clock.set(t0 + req.atMs);
    if (atSteady === undefined && req.atMs >= steadyFromMs) atSteady = { requests, rowsWithCache, rowsWithoutCache };
    requests++;
    const stats = perOp[req.op];
    current = stats;
    stats.requests++;
    if (req.session >= 0) {
      stats.rowsWithoutCache += SESSION_ROWS;
      rowsWithoutCache += SESSION_ROWS;
      if (replaySessions) await getOrSet('session', sessionKey(req.session), SESSION_ROWS);
      else {
        keyReads++;
        keyHits++;
      }
    }
    if (isReadOp(req.op)) {
      let hit = false;
      for (const k of req.reads) {
        hit = await getOrSet(k.kind, k.key, k.rows);
        stats.rowsWithoutCache += k.rows;
        rowsWithoutCache += k.rows;
        if (k.group !== undefined) {
          let g = groups.get(k.group);
          if (g === undefined) groups.set(k.group, (g = new Set()));
          g.add(k.key);
        }
      }
      reads++;
      if (hit) {
        hits++;
        stats.hits++;
      }
      if (req.atMs >= steadyFromMs) {
        steadyReads++;
        if (hit) steadyHits++;
      }
      const b = Math.floor(req.atMs / bucketMs);
      while (timeline.length <= b) timeline.push({ fromSeconds: (timeline.length * bucketMs) / 1000, reads: 0, hits: 0, hitRate: 0 });
      const bucket = timeline[b] as SimulationResult['timeline'][number];
      bucket.reads++;
      if (hit) bucket.hits++;
    } else {
      rowsWithCache += req.writeRows;
      rowsWithoutCache += req.writeRows;
      stats.rows += req.writeRows;
      stats.rowsWithoutCache += req.writeRows;
      if (req.invalidates.length > 0) await cache.del(req.invalidates);
      for (const p of req.tags) {
        const g = groups.get(p);
        if (g !== undefined && g.size > 0) {
          await cache.del([...g]);
          g.clear();
        }
      }
    }
  }
  await cache.close();
  for (const b of timeline) b.hitRate = pct(b.hits, b.reads);
  return {
    requests,
    reads,
    hits,
    hitRate: pct(hits, reads),
    steady: {
      fromSeconds: steadyFromMs / 1000,
      reads: steadyReads,
      hits: steadyHits,
      hitRate: pct(steadyHits, steadyReads),
      requests: requests - (atSteady?.requests ?? requests),
      rowsWithCache: rowsWithCache - (atSteady?.rowsWithCache ?? rowsWithCache),
      rowsWithoutCache: rowsWithoutCache - (atSteady?.rowsWithoutCache ?? rowsWithoutCache),
    },
    perOp,
    keyReads,
    keyHits,
    fetches,
    fetchesByKind,
    rowsWithCache,
    rowsWithoutCache,
    durationSeconds,
    ratePerSecond,
    timeline,
    elapsedMs: performance.now() - started,
  };
}

// ---------------------------------------------------------------------------------------------
// A replayed table cell (the tables themselves come from the model: bench/simulate/tables.ts)

/** Steady-state hit rate replayed over a table cell's window (steadyWindow): what the model's cell predicts. */
export async function steadyHitRate(base: SweepBase, ratePerSecond: number, ttls: TtlTable, zipf = base.zipf): Promise<SimulationResult> {
  const w = steadyWindow(ratePerSecond, ttls);
  return simulate({ world: base.world, zipf, writeRatio: base.writeRatio, seed: base.seed, ttls, ratePerSecond, durationSeconds: w.durationSeconds, steadyFromSeconds: w.fromSeconds });
}

// ---------------------------------------------------------------------------------------------
// CLI

/** The options text; `command` is how the caller runs it (`npm run simulate --`, `redis-cache-layer simulate`). */
export const simulateUsage = (command: string): string => `Usage: ${command} [options]

  --users N               users in the seeded world (default 100000)
  --requests-per-day N    traffic (default 1000000); or
  --rate N                requests per second
  --duration D            simulated time: 86400, 90s, 15m, 6h, 1d (default 1d)
  --sessions N            logged-in users the requests come from (default: every user but the demo one)
  --ttl T                 TTL overrides: 300 (every kind) or userProfile=60,guild=600
  --zipf S                Zipf exponent of requested ids (default 0.99; 0 = uniform)
  --write-ratio W         share of writes (default 0.05)
  --seed N                (default 1)
  --price-per-100k USD    price per 100,000 database reads (default 0.06, Firestore)
  --free-reads-per-day N  free reads per day (default 50000, Firestore)
  --tables                also print steady-state hit rate by TTL × request rate and by Zipf
                          skew, from the analytical model (bench/simulate/model.ts; a second)

At 100,000 users and 1,000,000 requests/day the whole run takes 9-17 s on 2 busy cores
(README, "the simulator"); --tables adds about a second.`;

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)?$/.exec(text.trim());
  if (m === null) throw new RangeError(`bad duration ${JSON.stringify(text)}: use 90, 90s, 15m, 6h or 1d`);
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (n <= 0) throw new RangeError('duration must be positive');
  return n * unit;
}

export function positiveNumber(name: string, text: string | undefined, fallback: number, integer = false): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isSafeInteger(n))) throw new RangeError(`--${name} must be a ${integer ? 'non-negative integer' : 'number >= 0'}, got ${text}`);
  return n;
}

/** A bad flag or value: the caller shows its message with the usage (CLI exit code 2). */
export class SimulateUsageError extends Error {
  readonly code = 'E_SIMULATE_USAGE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimulateUsageError';
  }
}

interface SimulateArgs {
  help: boolean;
  tables: boolean;
  users: number;
  rate: number;
  duration: number;
  sessions: number;
  zipf: number;
  writeRatio: number;
  seed: number;
  ttls: TtlTable;
  costOpts: CostOptions;
}

function parseSimulateArgs(argv: string[]): SimulateArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      users: { type: 'string' },
      'requests-per-day': { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      sessions: { type: 'string' },
      ttl: { type: 'string' },
      zipf: { type: 'string' },
      'write-ratio': { type: 'string' },
      seed: { type: 'string' },
      'price-per-100k': { type: 'string' },
      'free-reads-per-day': { type: 'string' },
      tables: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const users = positiveNumber('users', values.users, 100_000, true);
  if (users < 2) throw new RangeError('--users must be at least 2');
  const perDay = positiveNumber('requests-per-day', values['requests-per-day'], 1_000_000);
  const rate = values.rate === undefined ? perDay / 86_400 : positiveNumber('rate', values.rate, 0);
  const duration = parseDuration(values.duration ?? '1d');
  const sessions = positiveNumber('sessions', values.sessions, users - 1, true);
  const zipf = positiveNumber('zipf', values.zipf, 0.99);
  const writeRatio = positiveNumber('write-ratio', values['write-ratio'], 0.05);
  const seed = positiveNumber('seed', values.seed, 1, true);
  const ttls = parseTtlOverrides(values.ttl);
  const costOpts: CostOptions = {
    pricePer100k: positiveNumber('price-per-100k', values['price-per-100k'], DEFAULT_COST.pricePer100k),
    freeReadsPerDay: positiveNumber('free-reads-per-day', values['free-reads-per-day'], DEFAULT_COST.freeReadsPerDay),
  };
  return { help: values.help, tables: values.tables, users, rate, duration, sessions, zipf, writeRatio, seed, ttls, costOpts };
}

/**
 * The simulator's command line: `argv` are its flags, `command` how it was run (the usage text
 * and the report's header name it), `out` writes one line. Bad flags throw SimulateUsageError.
 */
export async function runSimulateCli(argv: string[], command: string, out: (line?: string) => void): Promise<void> {
  let args: SimulateArgs;
  try {
    args = parseSimulateArgs(argv);
  } catch (err) {
    throw new SimulateUsageError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  if (args.help) {
    out(simulateUsage(command));
    return;
  }
  const { users, rate, duration, zipf, writeRatio, seed, ttls, costOpts } = args;
  const world = syntheticWorld(users, args.sessions, seed);

  const r = await simulate({ world, ratePerSecond: rate, durationSeconds: duration, zipf, writeRatio, seed, ttls });
  const perDayWith = (r.rowsWithCache / duration) * 86_400;
  const perDayWithout = (r.rowsWithoutCache / duration) * 86_400;
  out(`# Simulation: ${fmtInt(users)} users, ${fmtInt(rate * 86_400)} requests/day (${rate.toFixed(2)}/s) for ${fmtInt(duration)} s`);
  out();
  out(machineHeader(`${command} ${argv.join(' ')}`.trim()));
  out();
  out(`Zipf s=${zipf}, write ratio ${writeRatio}, ${fmtInt(world.sessionUsers.length)} sessions, seed ${seed}; TTLs (s): ${Object.entries(ttls).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  out(`Replayed ${fmtInt(r.requests)} requests through createCache() (memory store, ManualClock) in ${(r.elapsedMs / 1000).toFixed(1)} s.`);
  out();
  out(`**Predicted hit rate: ${fmtPct(r.hitRate)} over the whole run, ${fmtPct(r.steady.hitRate)} after ${fmtInt(r.steady.fromSeconds)} s** (X-Cache HIT / read requests).`);
  out(`Database reads: ${fmtInt(perDayWith)} rows/day with the cache, ${fmtInt(perDayWithout)} without (${fmtPct(pct(perDayWithout - perDayWith, perDayWithout))} fewer); ${fmtInt(r.fetches)} fetches.`);
  out();
  out(perOpTable(r));
  out();
  out(`Cost at $${costOpts.pricePer100k} per 100,000 reads after ${fmtInt(costOpts.freeReadsPerDay)} free reads/day (${DAYS_PER_MONTH}-day month):`);
  out();
  out(costTable(perDayWith, perDayWithout, costOpts));
  out();
  out(
    `Cache layers are usually promised an 85 % hit rate at this scale; for this traffic (${fmtInt(users)} users, ${fmtInt(rate * 86_400)} requests/day, Zipf ${zipf}) the simulator predicts ${fmtPct(r.hitRate)} (${fmtPct(r.steady.hitRate)} in steady state): ${r.hitRate >= 85 ? 'the promise holds here' : `${(85 - r.hitRate).toFixed(1)} points short of it`}.`,
  );
  if (!args.tables) return;

  const tablesStarted = performance.now();
  const base: SweepBase = { world, zipf, writeRatio, seed, ttls };
  const own = steadyStateModel({ world, ratePerSecond: rate, zipf, writeRatio, ttls, atSeconds: (r.steady.fromSeconds + duration) / 2 });
  const ttlTable = ttlRateTable(base);
  const skewTable = zipfTable(base, rate);
  out();
  out(`## Steady-state hit rate by TTL and request rate (${fmtInt(users)} users, Zipf ${zipf})`);
  out();
  out(
    'Each cell: the steady-state model (bench/simulate/model.ts: each key hits λT/(1+λT) of its reads, T its TTL shortened by the invalidations it gets), ' +
      'not a replay; test/bench/simulate-model.test.ts checks it against replayed cells within 2 percentage points. ' +
      `For this run's own traffic the model gives ${fmtPct(own.hitRate)}; the replay above measured ${fmtPct(r.steady.hitRate)} after ${fmtInt(r.steady.fromSeconds)} s` +
      (r.steady.fromSeconds < maxTtl(ttls) ? `, before one longest TTL (${fmtInt(maxTtl(ttls))} s) had passed: not yet the steady state the model describes.` : '.'),
  );
  out();
  out(ttlTable);
  out();
  out(`## Steady-state hit rate by Zipf skew (${fmtInt(users)} users, ${fmtInt(rate * 86_400)} requests/day, default TTLs)`);
  out();
  out('Rows per request in steady state too, so a little below the whole run\'s above, whose first TTL starts from an empty cache.');
  out();
  out(skewTable);
  out();
  out(`Tables computed in ${((performance.now() - tablesStarted) / 1000).toFixed(1)} s.`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSimulateCli(process.argv.slice(2), 'npm run simulate --', (line = '') => process.stdout.write(`${line}\n`)).catch((err: unknown) => {
    if (err instanceof SimulateUsageError) {
      process.stderr.write(`simulate: ${err.message} (--help lists the options)\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`simulate failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
