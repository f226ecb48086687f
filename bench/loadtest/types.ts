/** The load test's options, per-run results and outcome (bench/loadtest.ts). */
import type { SimulationResult } from '../simulate.ts';
import type { CostOptions } from '../simulate/report.ts';
import type { OpName, World } from '../workload.ts';

export type Mode = 'cache' | 'nocache';

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
  /** PostgreSQL URL; undefined = PGlite in `pgliteDir`. */
  databaseUrl: string | undefined;
  schema: string;
  pgliteDir: string;
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
  rowsRead: Record<string, number>;
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
  rowsByDomain: Record<string, number>;
  rows: number;
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
  database: string;
  redis: string;
  runs: Partial<Record<Mode, RunResult>>;
  sim: SimulationResult;
  command: string;
}
