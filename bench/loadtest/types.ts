/** The load test's options, database seam, per-run results and outcome (bench/loadtest.ts). */
import type { BilledOps } from '../../src/app/data.ts';
import type { SimulationResult } from '../simulate.ts';
import type { CostOptions } from '../simulate/report.ts';
import type { OpName, World } from '../workload.ts';

export type Mode = 'cache' | 'nocache';

/** Which database the load test seeds and the server runs on. */
export type DatabaseChoice =
  | { kind: 'postgres'; url: string; schema: string }
  | { kind: 'pglite'; dir: string }
  /**
   * Always an emulator (the load test writes ~17 documents per user and reads millions: never a
   * real project's bill): the one at `emulatorHost`, or one the load test starts when undefined.
   */
  | { kind: 'firestore'; projectId: string; emulatorHost: string | undefined };

/**
 * What the server's database read counter counts, as the report names it. SQL counts rows read;
 * Firestore counts what Google bills (documents returned, one per empty query, one per 1,000
 * index entries of a count()): the two are different units and the report never mixes them up.
 */
export interface ReadUnit {
  /** "database row read", "billed document read". */
  one: string;
  /** "database rows read", "billed document reads". */
  many: string;
  /** Where it comes from, for the report ("`/health` database.rowsRead"). */
  source: string;
}

/** How the data got into the database. */
export interface SeedInfo {
  users: number;
  /** An existing seed of the same size was used as it was. */
  reused: boolean;
  /** Seconds the seed took (0 when reused). */
  seconds: number;
  /** Rows or documents written by the seed (0 when reused). */
  written: number;
  /** "rows" or "documents". */
  writtenUnit: string;
}

/** A database behind the load test: seeded and read before the runs, handed to the server by environment. */
export interface LoadTestDatabase {
  /** Short name for prose: "PostgreSQL", "PGlite", "the Firestore emulator". */
  readonly name: string;
  /** The report's "Database:" line. */
  readonly description: string;
  readonly readUnit: ReadUnit;
  /** Log-ins sent at once while the sessions are set up (not measured). */
  readonly loginConcurrency: number;
  /** Seeds `users` (or reuses a seed of that size), then reads what the workload needs. */
  prepare(users: number, sessionUsers: number[]): Promise<{ world: World; seed: SeedInfo }>;
  /** The server's database variables (undefined removes one). */
  serverEnv(): Record<string, string | undefined>;
  /** Releases what `open` started (an emulator); idempotent. */
  close(): Promise<void>;
}

export interface LoadTestOptions {
  users: number;
  sessions: number;
  ratePerSecond: number;
  durationSeconds: number;
  zipf: number;
  writeRatio: number;
  seed: number;
  dbLatencyMs: number;
  /** Use this Redis instead of starting one (never flushed: runs use a key prefix of their own). */
  redisUrl: string | undefined;
  database: DatabaseChoice;
  connections: number;
  timeoutMs: number;
  /**
   * Seconds of traffic (another seed) sent before each measured run, to warm the JIT, the
   * connection pools and PostgreSQL's buffers; the cache is emptied after it (sessions kept),
   * so the measured run starts cold, as the simulator does.
   */
  warmupSeconds: number;
  modes: Mode[];
  costOptions: CostOptions;
  /** Progress lines and bars on stderr. */
  log: (line: string) => void;
  bar: boolean;
}

export interface HealthSnapshot {
  /** `/health` database.rowsRead: rows per domain on SQL, billed document reads on Firestore. */
  rowsRead: Record<string, number>;
  /** `/health` database.billed (Firestore only): billed reads, writes and deletes per domain. */
  billed: Record<string, BilledOps> | undefined;
  fetches: number;
  coalesced: number;
  leaseWaits: number;
  earlyRefreshes: number;
  staleWritesPrevented: number;
  hits: number;
  misses: number;
  errors: number;
  keys: number | null;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface RunResult {
  mode: Mode;
  requests: number;
  /** Non-2xx answers and network errors. */
  errors: number;
  errorSamples: string[];
  statusCounts: Record<string, number>;
  /** Responses per second, over the whole run. */
  throughput: number;
  latency: Percentiles;
  /** Requests answered HIT, their latency. */
  hitLatency: Percentiles;
  /** From the actual send instead of the scheduled one (without the generator's own lag). */
  serviceLatency: Percentiles;
  hitServiceLatency: Percentiles;
  perOp: Record<OpName, { requests: number; hits: number; latency: Percentiles }>;
  reads: number;
  hits: number;
  hitRate: number;
  steady: { fromSeconds: number; reads: number; hits: number; hitRate: number };
  timeline: Array<{ fromSeconds: number; reads: number; hits: number; hitRate: number; p99: number }>;
  /** Database reads per domain over the run, in the database's unit (LoadTestOutcome.readUnit). */
  dbReadsByDomain: Record<string, number>;
  dbReads: number;
  server: HealthSnapshot;
  /** Distinct (key, TTL window) pairs the trace asked for, and the fetches the server made per pair. */
  keyWindows: number;
  fetchesPerKeyWindow: number;
  /** X-Cache MISS answers beyond the first in a (key, window), i.e. coalesced or duplicate misses. */
  duplicateMisses: number;
  maxSendLagMs: number;
  p99SendLagMs: number;
  /** 1-minute load average of the machine when the run ended. */
  loadAverage: number;
}

export interface LoadTestOutcome {
  options: LoadTestOptions;
  world: World;
  /** The report's "Database:" line, and the short name used in prose. */
  database: string;
  databaseName: string;
  readUnit: ReadUnit;
  seed: SeedInfo;
  redis: string;
  runs: Partial<Record<Mode, RunResult>>;
  sim: SimulationResult;
  command: string;
}
