/**
 * Prometheus metrics. The cache library stays free of prom-client: its in-process counters
 * (getStats) are copied into counters at scrape time, as deltas, so every series is a true
 * monotonic counter.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheStats } from '../../cache/index.ts';

export interface MetricsSources {
  cacheStats(): Promise<CacheStats>;
  redisState(): string;
  /** Each Redis node and its state (`ready` counts as up). */
  redisNodes(): ReadonlyArray<{ address: string; role: string; state: string }>;
  reconnectAttempts(): number;
  dbReads(): Record<string, number>;
  /** Firestore's bill per domain; undefined on SQL (no firestore_* series then). */
  firestoreBill(): Record<string, { reads: number; writes: number; deletes: number }> | undefined;
  fallbackInFlight(): number;
}

export class AppMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly fallbacks: Counter;
  readonly fallbackRejected: Counter;
  #sources: MetricsSources | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    });
    this.fallbacks = new Counter({ name: 'cache_db_fallback_total', help: 'Reads sent to the database while Redis was unhealthy', registers: [this.registry] });
    this.fallbackRejected = new Counter({
      name: 'cache_db_fallback_rejected_total',
      help: 'Reads answered 503 because every database fallback slot was busy',
      registers: [this.registry],
    });

    const last = new Map<string, number>();
    const delta = (id: string, value: number): number => {
      const d = value - (last.get(id) ?? 0);
      last.set(id, value);
      return d > 0 ? d : 0;
    };
    const self = (): MetricsSources | undefined => this.#sources;
    const perNamespace = (name: string, help: string, pick: (s: { hits: number; misses: number; errors: number }) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['namespace'],
        registers: [this.registry],
        async collect() {
          const src = self();
          if (src === undefined) return;
          const stats = await src.cacheStats();
          for (const [ns, s] of Object.entries(stats.namespaces)) this.inc({ namespace: ns }, delta(`${name}:${ns}`, pick(s)));
          // Errors not tied to a key (connection errors) go under namespace "_connection".
          if (name === 'cache_errors_total') {
            const keyed = Object.values(stats.namespaces).reduce((n, s) => n + s.errors, 0);
            this.inc({ namespace: '_connection' }, delta(`${name}:_connection`, stats.errors - keyed));
          }
        },
      });
    perNamespace('cache_hits_total', 'Cache hits by key namespace', (s) => s.hits);
    perNamespace('cache_misses_total', 'Cache misses by key namespace', (s) => s.misses);
    perNamespace('cache_errors_total', 'Cache errors by key namespace', (s) => s.errors);
    new Gauge({
      name: 'cache_keys',
      help: 'Keys in the cache store (Redis DBSIZE)',
      registers: [this.registry],
      async collect() {
        const src = self();
        if (src === undefined) return;
        this.set((await src.cacheStats()).keys ?? 0);
      },
    });
    new Gauge({
      name: 'redis_connection_state',
      help: 'Redis connection: 1 for the labelled current state',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const src = self();
        if (src === undefined) return;
        this.reset();
        this.set({ state: src.redisState() }, 1);
      },
    });
    // One series per node the server knows (masters, replicas, sentinels), so an alert can name
    // the node; nodes that left the topology disappear at the next scrape.
    new Gauge({
      name: 'redis_node_up',
      help: 'Redis node answering (1) or not (0), by node address and role; replicas and sentinels as the cluster or the sentinels see them',
      labelNames: ['node', 'role'],
      registers: [this.registry],
      collect() {
        const src = self();
        if (src === undefined) return;
        this.reset();
        for (const n of src.redisNodes()) this.set({ node: n.address, role: n.role }, n.state === 'ready' ? 1 : 0);
      },
    });
    new Counter({
      name: 'redis_reconnect_attempts_total',
      help: 'Failed Redis reconnect attempts',
      registers: [this.registry],
      collect() {
        const src = self();
        if (src !== undefined) this.inc(delta('reconnects', src.reconnectAttempts()));
      },
    });
    new Gauge({
      name: 'cache_db_fallback_in_flight',
      help: 'Database fallbacks running now',
      registers: [this.registry],
      collect() {
        const src = self();
        if (src !== undefined) this.set(src.fallbackInFlight());
      },
    });
    new Counter({
      name: 'db_rows_read_total',
      help: 'Rows read from the database, by domain',
      labelNames: ['domain'],
      registers: [this.registry],
      collect() {
        const src = self();
        // On Firestore the firestore_*_total series below count what is billed instead.
        if (src === undefined || src.firestoreBill() !== undefined) return;
        for (const [domain, n] of Object.entries(src.dbReads())) this.inc({ domain }, delta(`db:${domain}`, n));
      },
    });
    // Firestore: what it bills, by domain (the `seed` domain is the start-up demo seed).
    const billed = (name: string, help: string, pick: (line: { reads: number; writes: number; deletes: number }) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['domain'],
        registers: [this.registry],
        collect() {
          const bill = self()?.firestoreBill();
          if (bill === undefined) return;
          for (const [domain, line] of Object.entries(bill)) this.inc({ domain }, delta(`${name}:${domain}`, pick(line)));
        },
      });
    billed('firestore_reads_total', 'Firestore document reads billed, by domain', (l) => l.reads);
    billed('firestore_writes_total', 'Firestore document writes billed, by domain', (l) => l.writes);
    billed('firestore_deletes_total', 'Firestore document deletes billed, by domain', (l) => l.deletes);
  }

  bind(sources: MetricsSources): void {
    this.#sources = sources;
  }
}
