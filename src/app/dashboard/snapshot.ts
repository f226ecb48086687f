/**
 * What the dashboard shows, read from the sources /metrics reads (MetricsSources, the HTTP
 * histogram, the fallback-rejected counter) and /health reads (redisStatus): one seam, no
 * second set of counters on the hot path.
 *
 * A sampler reads the cumulative counters once a second and keeps the per-second rates of the
 * last WINDOW in a ring buffer, so a page opened now draws the last minutes at once. Every page
 * poll is answered from the last sample: viewers add no Redis command (getStats costs a
 * DBSIZE), only the sampler does, once a second, while it runs. It starts when the server
 * listens (routes.ts) or at the first dashboard request, and stops when the app closes.
 */
import type { CacheStats } from '../../cache/index.ts';
import type { RedisStatus } from '../deps.ts';
import type { AppMetrics, MetricsSources } from '../http/metrics.ts';
import type { RecentError, RecentErrors } from './recent-errors.ts';

/** Rates over one sampling interval, per second. */
export interface DashboardSample {
  /** End of the interval (epoch ms). */
  atMs: number;
  l1HitsPerSecond: number;
  l2HitsPerSecond: number;
  missesPerSecond: number;
  /** HTTP requests answered, by domain (first path segment of the route); the dashboard's own polls left out. */
  requestsPerSecond: Record<string, number>;
  /** Database reads (rows on SQL, billed documents on Firestore), by domain. */
  dbReadsPerSecond: Record<string, number>;
}

export interface DashboardNamespaceRow {
  namespace: string;
  hits: number;
  misses: number;
  /** Percent, 0–100. */
  hitRate: number;
  errors: number;
  /** getOrSet answers served stale (within grace, or fail-safe); also counted in hits. */
  stale: number;
}

export interface DashboardSnapshot {
  atMs: number;
  sampleIntervalMs: number;
  /** How far back `samples` can reach, in seconds. */
  windowSeconds: number;
  /** Samples newer than the request's `since` (all kept ones without it), oldest first. */
  samples: DashboardSample[];
  cache: {
    enabled: boolean;
    store: CacheStats['store'];
    hits: number;
    misses: number;
    hitRate: number;
    l1Hits: number;
    l2Hits: number;
    /** getOrSet answers served stale within grace. */
    staleServed: number;
    staleWritesPrevented: number;
    errors: number;
    /** Keys in the store (DBSIZE); null when it could not answer. */
    keys: number | null;
    l1: { entries: number; bytes: number; channel: string } | null;
  };
  /** The library counts hits, misses, errors and stale answers per namespace; keys are a total only (DBSIZE). */
  namespaces: DashboardNamespaceRow[];
  redis: {
    mode: RedisStatus['mode'];
    topology: RedisStatus['topology'];
    state: RedisStatus['state'];
    healthy: boolean;
    /** Failed reconnect attempts over the connection's life (the connection counts them in total, not per node). */
    reconnectAttempts: number;
    /**
     * Each node now; `recoveries`: times the sampler saw it back to `ready` after seeing it in
     * another state (sampled once a second, so a blip shorter than that can go unseen).
     */
    nodes: Array<{ address: string; role: string; state: string; observedVia: string; recoveries: number }>;
  };
  fallback: { inFlight: number; limit: number; rejected: number };
  pendingInvalidations: { keys: number; tags: number; patterns: number; flushAll: boolean };
  /** Failures recorded since start, and the last ones (secrets removed), newest first. */
  errors: { total: number; recent: RecentError[] };
}

export interface DashboardSamplerOptions {
  sources: MetricsSources;
  metrics: AppMetrics;
  redisStatus: () => RedisStatus;
  recentErrors: RecentErrors;
  cacheEnabled: () => boolean;
  /** Default 1000 (the page polls at most once a second). */
  sampleIntervalMs?: number;
  /** Seconds of samples kept. Default 600 (10 minutes). */
  windowSeconds?: number;
  now?: () => number;
}

/** Cumulative counters at one instant; a sample is the difference of two of these. */
interface Totals {
  atMs: number;
  stats: CacheStats;
  requests: Record<string, number>;
  dbReads: Record<string, number>;
  rejected: number;
}

/** The dashboard's own routes: its polls are not traffic worth charting. */
const OWN_DOMAIN = 'dashboard';

/** `/users/:id` → `users`; the probes and /metrics → `health`, `metrics`. */
export function domainOfRoute(route: string): string {
  const first = route.split('/').find((s) => s !== '');
  return first === undefined ? 'root' : first.startsWith(':') ? 'unmatched' : first;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** What the sampler remembers of one node between samples. */
export interface NodeTrack {
  state: string;
  recoveries: number;
}

/**
 * Updates `seen` with the nodes' states now: a node back to `ready` after being seen otherwise
 * counts one recovery. The per-node reconnect count the dashboard shows, since the Redis
 * connection counts reconnect attempts in total only. Nodes that left the topology are kept (a
 * node that comes back keeps its count).
 */
export function trackNodeRecoveries(seen: Map<string, NodeTrack>, nodes: ReadonlyArray<{ address: string; state: string }>): void {
  for (const n of nodes) {
    const before = seen.get(n.address);
    if (before === undefined) seen.set(n.address, { state: n.state, recoveries: 0 });
    else {
      if (n.state === 'ready' && before.state !== 'ready') before.recoveries++;
      before.state = n.state;
    }
  }
}

export class DashboardSampler {
  readonly sampleIntervalMs: number;
  readonly windowSeconds: number;
  readonly #opts: DashboardSamplerOptions;
  readonly #now: () => number;
  readonly #samples: DashboardSample[] = [];
  readonly #capacity: number;
  readonly #nodes = new Map<string, NodeTrack>();
  #last: Totals | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #closed = false;

  constructor(opts: DashboardSamplerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.sampleIntervalMs = opts.sampleIntervalMs ?? 1000;
    this.windowSeconds = opts.windowSeconds ?? 600;
    this.#capacity = Math.ceil((this.windowSeconds * 1000) / this.sampleIntervalMs);
  }

  /** Starts sampling once a second; idempotent. The timer does not keep the process alive. */
  start(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setInterval(() => this.#tick(), this.sampleIntervalMs);
    this.#timer.unref();
    this.#tick();
  }

  /**
   * A timer's read. The sources do not reject today (getStats reports a failed DBSIZE and
   * answers keys: null), but a rejection here would be unhandled, which server.ts treats as a
   * crash: a lost sample is not worth an instance, and the next tick reads again.
   */
  #tick(): void {
    this.sample().catch(() => undefined);
  }

  stop(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * Reads the counters and appends the rates since the previous read. One read at a time: a
   * slow getStats (Redis timing out) makes the next tick wait for it rather than pile up.
   */
  sample(): Promise<void> {
    this.#inFlight ??= this.#read().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #read(): Promise<void> {
    trackNodeRecoveries(this.#nodes, this.#opts.redisStatus().nodes);
    const totals = await this.#totals();
    const prev = this.#last;
    this.#last = totals;
    if (prev === undefined) return;
    const seconds = (totals.atMs - prev.atMs) / 1000;
    if (seconds <= 0) return;
    // A counter that went down (the cache replaced after Redis came back in development, or
    // resetStats) adds 0 for that interval, as /metrics does.
    const rate = (now: number, before: number): number => round2(Math.max(0, now - before) / seconds);
    const rates = (now: Record<string, number>, before: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(now).map(([k, v]) => [k, rate(v, before[k] ?? 0)]));
    this.#samples.push({
      atMs: totals.atMs,
      l1HitsPerSecond: rate(totals.stats.l1Hits, prev.stats.l1Hits),
      l2HitsPerSecond: rate(totals.stats.l2Hits, prev.stats.l2Hits),
      missesPerSecond: rate(totals.stats.misses, prev.stats.misses),
      requestsPerSecond: rates(totals.requests, prev.requests),
      dbReadsPerSecond: rates(totals.dbReads, prev.dbReads),
    });
    if (this.#samples.length > this.#capacity) this.#samples.splice(0, this.#samples.length - this.#capacity);
  }

  async #totals(): Promise<Totals> {
    const { sources, metrics } = this.#opts;
    const [stats, histogram, rejected] = await Promise.all([sources.cacheStats(), metrics.httpDuration.get(), metrics.fallbackRejected.get()]);
    const requests: Record<string, number> = {};
    for (const v of histogram.values) {
      if (v.metricName !== 'http_request_duration_seconds_count') continue;
      const domain = domainOfRoute(String(v.labels['route'] ?? 'unmatched'));
      if (domain !== OWN_DOMAIN) requests[domain] = (requests[domain] ?? 0) + v.value;
    }
    return { atMs: this.#now(), stats, requests, dbReads: { ...sources.dbReads() }, rejected: rejected.values[0]?.value ?? 0 };
  }

  /** The page's data: samples after `sinceMs` (every kept one without it) and the current state. */
  async snapshot(sinceMs?: number): Promise<DashboardSnapshot> {
    // The first request before the timer has read twice: read now, so the figures are there.
    if (this.#last === undefined) await this.sample();
    const last = this.#last;
    if (last === undefined) throw new Error('dashboard sampler has no reading');
    const { sources, redisStatus, recentErrors } = this.#opts;
    const s = last.stats;
    const redis = redisStatus();
    return {
      atMs: last.atMs,
      sampleIntervalMs: this.sampleIntervalMs,
      windowSeconds: this.windowSeconds,
      samples: sinceMs === undefined ? [...this.#samples] : this.#samples.filter((x) => x.atMs > sinceMs),
      cache: {
        enabled: this.#opts.cacheEnabled(),
        store: s.store,
        hits: s.hits,
        misses: s.misses,
        hitRate: s.hitRate,
        l1Hits: s.l1Hits,
        l2Hits: s.l2Hits,
        staleServed: s.stale,
        staleWritesPrevented: s.staleWritesPrevented,
        errors: s.errors,
        keys: s.keys,
        l1: s.l1 === null ? null : { entries: s.l1.entries, bytes: s.l1.bytes, channel: s.l1.channel },
      },
      namespaces: Object.entries(s.namespaces)
        .map(([namespace, n]) => ({ namespace, hits: n.hits, misses: n.misses, hitRate: n.hitRate, errors: n.errors, stale: n.stale }))
        .sort((a, b) => b.hits + b.misses - (a.hits + a.misses) || a.namespace.localeCompare(b.namespace)),
      redis: {
        mode: redis.mode,
        topology: redis.topology,
        state: redis.state,
        healthy: redis.healthy,
        reconnectAttempts: redis.totalReconnectAttempts,
        nodes: redis.nodes.map((n) => ({ address: n.address, role: n.role, state: n.state, observedVia: n.observedVia, recoveries: this.#nodes.get(n.address)?.recoveries ?? 0 })),
      },
      fallback: { inFlight: sources.fallbackInFlight(), limit: sources.fallbackLimit(), rejected: last.rejected },
      pendingInvalidations: sources.pendingInvalidations(),
      errors: { total: recentErrors.total, recent: recentErrors.list() },
    };
  }
}
