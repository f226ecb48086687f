/**
 * `npm run loadtest`: the cache's headline tables (database load, response time, cost),
 * measured on the real server.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run loadtest -- --users 100000
 *   npm run loadtest -- --users 100000 --db-latency-ms 20
 *   npm run loadtest -- --database firestore               # Google's Firestore emulator
 *
 * The database: `--database postgres|pglite|firestore`. Without the flag, DATABASE_URL=postgres://…
 * selects PostgreSQL and no DATABASE_URL selects PGlite, as for the server. Firestore is chosen
 * only with the flag, and only ever on the official emulator: the one at FIRESTORE_EMULATOR_HOST,
 * else one the load test starts on a free port (and stops), in project `--project` (default
 * demo-loadtest). DATABASE_URL=firestore://… is refused rather than guessed at: for the server it
 * means Google's service, which a load test must not seed or bill.
 *
 * 1. Seeds `--users` into a dedicated schema (`--schema`, default `loadtest`) of DATABASE_URL,
 *    into a PGlite folder, or into the emulator's project (with the seed `npm run seed` uses);
 *    a database already seeded with that many users is reused (on Firestore: `meta/seed` says
 *    so, which happens with a long-lived emulator given by FIRESTORE_EMULATOR_HOST).
 * 2. Starts its own redis-server on a free port (or uses `--redis-url`, with a key prefix of its
 *    own and no flush), then the server process (`node --import tsx src/app/server.ts`).
 * 3. Logs in a pool of `--sessions` users, then a separate load-generator process
 *    (bench/loadgen.ts) sends the workload (bench/workload.ts) open-loop at `--rate` req/s for
 *    `--duration` s: once with the cache, once with CACHE_ENABLED=false (server restarted, cache
 *    emptied in between).
 * 4. Replays the same trace through the simulator (bench/simulate.ts) and prints both side by side.
 * 5. Writes bench/results/<date>-loadtest[-firestore][-dbNNms][-rateN]….md and .svg (a suffix
 *    for each option off its default), unless any request failed: a run with errors is not
 *    published (exit code 1, no file). Database reads are counted in the database's own unit:
 *    rows read on SQL, billed document reads on Firestore (`/health` database.billed).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedisServer, type TestRedisServer } from '../test/helpers/redis-server.ts';
import type { LoadgenConfig } from './loadgen.ts';
import { analyse } from './loadtest/analysis.ts';
import { svgChart } from './loadtest/chart.ts';
import { openDatabase } from './loadtest/database.ts';
import { DEFAULT_FIRESTORE_PROJECT, FIRESTORE_DEFAULT_DURATION, FIRESTORE_DEFAULT_RATE, FIRESTORE_DEFAULT_USERS } from './loadtest/defaults.ts';
import { LoadTestSetupError } from './loadtest/errors.ts';
import { dropAllButSessions, flush, redisVersion } from './loadtest/redis.ts';
import { markdownReport, targets } from './loadtest/report.ts';
import { diff, driveLoad, health, login, startServer } from './loadtest/server.ts';
import type { DatabaseChoice, LoadTestDatabase, LoadTestOptions, LoadTestOutcome, Mode, RunResult } from './loadtest/types.ts';
import { today } from './machine.ts';
import { cost, costTable, DEFAULT_COST, fmtInt, fmtPct, mdTable, parseDuration, positiveNumber, simulate } from './simulate.ts';
import { createWorkload, defaultTtls, drawSessionUsers, trace, type World } from './workload.ts';

export type { DatabaseChoice, LoadTestOptions, LoadTestOutcome, Mode, Percentiles, RunResult } from './loadtest/types.ts';
export { percentiles } from './loadtest/analysis.ts';
export { svgChart } from './loadtest/chart.ts';
export { markdownReport, targets, type Target } from './loadtest/report.ts';

// ---------------------------------------------------------------------------------------------
// The run

export async function runLoadTest(o: LoadTestOptions, command: string): Promise<LoadTestOutcome> {
  const sessionUsers = drawSessionUsers(o.users, o.sessions, o.seed);
  const db = await openDatabase(o);
  try {
    const { world, seed } = await db.prepare(o.users, sessionUsers);
    o.log(`world: ${fmtInt(world.users)} users, ${fmtInt(world.guilds)} guilds, ${fmtInt(world.chats)} chats, ${fmtInt(world.jobs)} jobs (${fmtInt(world.openJobs)} open, ${world.openJobPages} pages), ${fmtInt(world.sessionUsers.length)} sessions owning ${world.ownedJobs.length} editable jobs`);
    const runs = await runModes(o, db, world);
    const sim = await simulate({ world, ratePerSecond: o.ratePerSecond, durationSeconds: o.durationSeconds, zipf: o.zipf, writeRatio: o.writeRatio, seed: o.seed, ttls: defaultTtls(), steadyFromSeconds: o.durationSeconds / 2, bucketSeconds: Math.max(1, Math.round(o.durationSeconds / 30)) });
    return {
      options: o,
      world,
      database: db.description,
      databaseName: db.name,
      readUnit: db.readUnit,
      seed,
      redis: o.redisUrl === undefined ? `redis-server ${redisVersion()} started by the load test on a free port` : 'REDIS_URL given with --redis-url (keys under a run prefix)',
      runs,
      sim,
      command,
    };
  } finally {
    await db.close();
  }
}

/** Each mode in turn: its own server process on the same database, the cache emptied in between. */
async function runModes(o: LoadTestOptions, db: LoadTestDatabase, world: World): Promise<Partial<Record<Mode, RunResult>>> {
  let ownRedis: TestRedisServer | undefined;
  const redisUrl = o.redisUrl ?? (ownRedis = await startRedisServer()).url;
  const ttls = defaultTtls();
  const requests = [...trace(createWorkload({ world, zipf: o.zipf, writeRatio: o.writeRatio, seed: o.seed }), o.ratePerSecond, o.durationSeconds)];
  const runs: Partial<Record<Mode, RunResult>> = {};
  let tokens: string[] | undefined;
  const runId = randomBytes(4).toString('hex');
  const baseCfg = (baseUrl: string, tokens: string[]): LoadgenConfig => ({
    baseUrl,
    ratePerSecond: o.ratePerSecond,
    durationSeconds: o.durationSeconds,
    zipf: o.zipf,
    writeRatio: o.writeRatio,
    seed: o.seed,
    world,
    tokens,
    connections: o.connections,
    timeoutMs: o.timeoutMs,
  });
  try {
    for (const mode of o.modes) {
      const prefix = `lt${runId}${mode}:`;
      if (ownRedis !== undefined) await flush(redisUrl);
      const server = await startServer(o, db, redisUrl, mode, prefix);
      try {
        // Log-in writes each session through to the cache; a later run without the cache finds them in the database.
        tokens ??= await login(o, server.baseUrl, world.sessionUsers, db.loginConcurrency);
        if (o.warmupSeconds > 0) {
          await driveLoad(o, { ...baseCfg(server.baseUrl, tokens), seed: o.seed + 1_000_003, durationSeconds: o.warmupSeconds }, 'warm-up');
          const dropped = await dropAllButSessions(redisUrl, prefix);
          o.log(`warm-up: ${o.warmupSeconds} s of traffic (another seed), then ${fmtInt(dropped)} cache keys deleted (sessions kept)`);
        }
        const before = await health(server.baseUrl);
        const result = await driveLoad(o, baseCfg(server.baseUrl, tokens), mode === 'cache' ? 'cache' : 'no cache');
        const after = await health(server.baseUrl);
        const run = analyse(mode, o, requests, result, diff(after, before), ttls);
        runs[mode] = run;
        o.log(
          `${mode}: ${fmtInt(run.requests)} requests, ${run.throughput.toFixed(0)}/s, p50 ${run.latency.p50.toFixed(2)} ms, p99 ${run.latency.p99.toFixed(2)} ms (from actual send: ${run.serviceLatency.p99.toFixed(2)} ms), hit rate ${fmtPct(run.hitRate)}, ${(run.dbReads / run.requests).toFixed(2)} ${db.readUnit.many} per request, errors ${run.errors}`,
        );
        o.log(`${mode}: ${db.readUnit.many} by domain: ${Object.entries(run.dbReadsByDomain).map(([d, n]) => `${d} ${fmtInt(n)}`).join(', ')}`);
        o.log(`${mode}: p99 (ms) per ${run.timeline[1]?.fromSeconds ?? o.durationSeconds} s: ${run.timeline.map((b) => b.p99.toFixed(0)).join(' ')}; load average ${loadavg()[0]?.toFixed(2)}`);
      } finally {
        await server.stop();
      }
    }
  } finally {
    if (ownRedis !== undefined) await ownRedis.stop();
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// CLI

/**
 * Defaults per database. The emulator is one JVM on the same two cores as everything else and
 * serves far fewer requests per second than PostgreSQL: its default rate is one at which both
 * runs (the one without the cache is the heavy one) finish with no errors (see the Firestore
 * report's notes). A run at the defaults gets the plain file name.
 */
const DEFAULTS = {
  sql: { rate: 1000, users: 100_000, duration: '60' },
  firestore: { rate: FIRESTORE_DEFAULT_RATE, users: FIRESTORE_DEFAULT_USERS, duration: FIRESTORE_DEFAULT_DURATION },
} as const;

const USAGE = `Usage: npm run loadtest -- [options]

  --database KIND      postgres, pglite or firestore (default: postgres with DATABASE_URL, else pglite)
  --users N            users to seed (default ${fmtInt(DEFAULTS.sql.users)}; Firestore ${fmtInt(DEFAULTS.firestore.users)}; an existing seed of that size is reused)
  --sessions N         logged-in users sending the traffic (default 1000)
  --rate N             requests per second, open loop (default ${DEFAULTS.sql.rate}; Firestore ${DEFAULTS.firestore.rate})
  --duration D         per run: 60, 60s, 2m (default ${DEFAULTS.sql.duration} s; Firestore ${DEFAULTS.firestore.duration})
  --zipf S             Zipf exponent of requested ids (default 0.99)
  --write-ratio W      share of writes (default 0.05)
  --seed N             workload seed (default 1)
  --db-latency-ms N    delay before every SQL statement ("a managed database in another zone"; not on Firestore)
  --redis-url URL      use this Redis (never flushed) instead of starting a redis-server
  --schema NAME        PostgreSQL schema (default loadtest)
  --pglite-dir DIR     PGlite folder (default .data/loadtest-pglite)
  --project ID         Firestore emulator project (default ${DEFAULT_FIRESTORE_PROJECT})
  --connections N      most sockets of the load generator (default 256)
  --warmup D           traffic before each measured run, cache emptied after it (default 10 s)
  --only cache|nocache run one mode only (the report needs both)
  --price-per-100k USD, --free-reads-per-day N   cost table (defaults 0.06, 50000: Firestore)

Environment: DATABASE_URL=postgres://... for PostgreSQL; FIRESTORE_EMULATOR_HOST=host:port to use a
running Firestore emulator (else --database firestore starts one: Cloud SDK emulator and Java needed).`;

/** The database the flags and the environment name, or why not. */
function databaseChoice(kind: string | undefined, values: { schema?: string; 'pglite-dir'?: string; project?: string }): DatabaseChoice {
  const url = process.env.DATABASE_URL === '' ? undefined : process.env.DATABASE_URL;
  const emulatorHost = process.env.FIRESTORE_EMULATOR_HOST === '' ? undefined : process.env.FIRESTORE_EMULATOR_HOST;
  const k = kind ?? (url === undefined ? 'pglite' : 'postgres');
  if (k === 'firestore') return { kind: 'firestore', projectId: values.project ?? DEFAULT_FIRESTORE_PROJECT, emulatorHost };
  if (values.project !== undefined) throw new LoadTestSetupError('--project is for --database firestore', 'bad_database');
  if (k === 'pglite') return { kind: 'pglite', dir: values['pglite-dir'] ?? '.data/loadtest-pglite' };
  if (k !== 'postgres') throw new LoadTestSetupError(`--database must be postgres, pglite or firestore, got ${k}`, 'bad_database');
  if (url?.startsWith('firestore:') === true) throw new LoadTestSetupError('DATABASE_URL=firestore://… would mean Google\'s service: the load test runs on the emulator only, with --database firestore (FIRESTORE_EMULATOR_HOST to reuse a running one)', 'bad_database');
  if (url === undefined) throw new LoadTestSetupError('--database postgres needs DATABASE_URL=postgres://…', 'bad_database');
  return { kind: 'postgres', url, schema: values.schema ?? 'loadtest' };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      database: { type: 'string' },
      users: { type: 'string' },
      sessions: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      zipf: { type: 'string' },
      'write-ratio': { type: 'string' },
      seed: { type: 'string' },
      'db-latency-ms': { type: 'string' },
      'redis-url': { type: 'string' },
      schema: { type: 'string' },
      'pglite-dir': { type: 'string' },
      project: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      only: { type: 'string' },
      'price-per-100k': { type: 'string' },
      'free-reads-per-day': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const database = databaseChoice(values.database, values);
  const defaults = database.kind === 'firestore' ? DEFAULTS.firestore : DEFAULTS.sql;
  const users = positiveNumber('users', values.users, defaults.users, true);
  const only = values.only;
  if (only !== undefined && only !== 'cache' && only !== 'nocache') throw new RangeError('--only must be cache or nocache');
  const o: LoadTestOptions = {
    users,
    sessions: positiveNumber('sessions', values.sessions, 1000, true),
    ratePerSecond: positiveNumber('rate', values.rate, defaults.rate),
    durationSeconds: parseDuration(values.duration ?? defaults.duration),
    zipf: positiveNumber('zipf', values.zipf, 0.99),
    writeRatio: positiveNumber('write-ratio', values['write-ratio'], 0.05),
    seed: positiveNumber('seed', values.seed, 1, true),
    dbLatencyMs: positiveNumber('db-latency-ms', values['db-latency-ms'], 0, true),
    redisUrl: values['redis-url'],
    database,
    connections: positiveNumber('connections', values.connections, 256, true),
    timeoutMs: 10_000,
    warmupSeconds: values.warmup === '0' ? 0 : parseDuration(values.warmup ?? '10'),
    modes: only === undefined ? ['cache', 'nocache'] : [only],
    costOptions: {
      pricePer100k: positiveNumber('price-per-100k', values['price-per-100k'], DEFAULT_COST.pricePer100k),
      freeReadsPerDay: positiveNumber('free-reads-per-day', values['free-reads-per-day'], DEFAULT_COST.freeReadsPerDay),
    },
    log: (line) => process.stderr.write(`${line}\n`),
    bar: true,
  };
  if (users < 2) throw new RangeError('--users must be at least 2');
  const env = database.kind === 'postgres' ? 'DATABASE_URL=postgres://… ' : database.kind === 'firestore' && database.emulatorHost !== undefined ? 'FIRESTORE_EMULATOR_HOST=… ' : '';
  const command = `${env}npm run loadtest -- ${process.argv.slice(2).join(' ')}`.trim();
  const out = await runLoadTest(o, command);

  const c = out.runs.cache;
  const nc = out.runs.nocache;
  const print = (s = ''): boolean => process.stdout.write(`${s}\n`);
  print();
  print(mdTable(['target', 'goal', 'measured', 'met', 'by how much'], targets(out).map((t) => [t.name, t.target, t.measured, t.met === undefined ? '—' : t.met ? 'yes' : 'NO', t.note]), ['l', 'l', 'l', 'l', 'l']));
  print();
  if (c !== undefined) print(`hit rate: measured ${fmtPct(c.hitRate)} (steady ${fmtPct(c.steady.hitRate)}), simulated ${fmtPct(out.sim.hitRate)} (steady ${fmtPct(out.sim.steady.hitRate)})`);
  if (c !== undefined && nc !== undefined) {
    const perDay = (r: RunResult): number => (r.dbReads / o.durationSeconds) * 86_400;
    print(costTable(perDay(c), perDay(nc), o.costOptions, out.readUnit.many));
    print(`monthly cost without / with: ${cost(perDay(nc), o.costOptions).usdPerMonth.toFixed(2)} / ${cost(perDay(c), o.costOptions).usdPerMonth.toFixed(2)} USD`);
  }
  const errors = Object.values(out.runs).reduce((s, r) => s + r.errors, 0);
  if (errors > 0) {
    for (const r of Object.values(out.runs)) {
      if (r.errors === 0) continue;
      process.stderr.write(`${r.mode}: ${r.errors} errors; statuses ${JSON.stringify(r.statusCounts)}\n`);
      for (const s of r.errorSamples) process.stderr.write(`  ${s}\n`);
    }
    process.stderr.write('\nThe run had errors: not publishing a report.\n');
    process.exitCode = 1;
    return;
  }
  if (c === undefined || nc === undefined) {
    process.stderr.write('Only one mode was run: no report written (the report compares both).\n');
    return;
  }
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  // Non-default traffic gets its own file name, so a diagnostic run never overwrites the headline one.
  const suffix = [
    database.kind === 'firestore' ? '-firestore' : '',
    o.dbLatencyMs > 0 ? `-db${o.dbLatencyMs}ms` : '',
    o.ratePerSecond !== defaults.rate ? `-rate${o.ratePerSecond}` : '',
    o.writeRatio !== 0.05 ? `-writes${o.writeRatio}` : '',
    o.users !== defaults.users ? `-users${o.users}` : '',
    o.durationSeconds !== parseDuration(defaults.duration) ? `-${o.durationSeconds}s` : '',
  ].join('');
  const base = `${today()}-loadtest${suffix}`;
  writeFileSync(join(dir, `${base}.svg`), svgChart(out));
  writeFileSync(join(dir, `${base}.md`), markdownReport(out, `${base}.svg`));
  process.stderr.write(`wrote bench/results/${base}.md and .svg\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`loadtest failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
