/**
 * Prometheus metrics. The cache library stays free of prom-client: its in-process counters
 * (getStats) are copied into counters at scrape time, as deltas, so every series is a true
 * monotonic counter. One scrape asks the cache for its stats once (each getStats costs a
 * DBSIZE), however many series read them.
 *
 * The in-process tier (CACHE_L1): `cache_hits_total` keeps counting every hit, by namespace;
 * `cache_l1_hits_total` and `cache_l2_hits_total` split the same hits by the tier that answered
 * (the library counts tiers in total, not per namespace). The `cache_l1_*` size and event series
 * read 0 while L1 is off, and `cache_l1_enabled` says which is the case, so an alert on
 * `cache_l1_channel_up == 0` is written `cache_l1_enabled == 1 and cache_l1_channel_up == 0`.
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
  /** DB_FALLBACK_CONCURRENCY: the slots fallbackInFlight fills. */
  fallbackLimit(): number;
  /** Failed invalidations waiting to be replayed (cache-access.ts's outbox). */
  pendingInvalidations(): { keys: number; tags: number; patterns: number; flushAll: boolean };
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
    // The series of one scrape collect together (prom-client starts every collect before awaiting
    // any), so they share one getStats while it is in flight.
    let statsInFlight: Promise<CacheStats> | undefined;
    const scrapeStats = (src: MetricsSources): Promise<CacheStats> => {
      if (statsInFlight === undefined) {
        const p = src.cacheStats().finally(() => {
          if (statsInFlight === p) statsInFlight = undefined;
        });
        statsInFlight = p;
      }
      return statsInFlight;
    };
    const perNamespace = (name: string, help: string, pick: (s: { hits: number; misses: number; errors: number }) => number) =>
      new Counter({
        name,
        help,
        labelNames: ['namespace'],
        registers: [this.registry],
        async collect() {
          const src = self();
          if (src === undefined) return;
          const stats = await scrapeStats(src);
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
        this.set((await scrapeStats(src)).keys ?? 0);
      },
    });
    // The in-process tier: hits by tier and the tier's own event counts, copied as deltas like
    // the counters above (a total that went down, after resetStats or a replaced cache, adds 0).
    const fromStats = (name: string, help: string, pick: (s: CacheStats) => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        async collect() {
          const src = self();
          if (src !== undefined) this.inc(delta(name, pick(await scrapeStats(src))));
        },
      });
    // Grace and leases at work: answers served stale within grace (also counted as hits), and
    // fetched values not written because an invalidation revoked their lease meanwhile.
    fromStats('cache_stale_served_total', 'getOrSet answers served stale (past TTL, within grace); also counted in cache_hits_total', (s) => s.stale);
    fromStats('cache_stale_writes_prevented_total', 'Fetched values not written because an invalidation revoked their lease (or another caller took it over)', (s) => s.staleWritesPrevented);
    fromStats('cache_l1_hits_total', 'Cache hits answered by the in-process tier (L1); with cache_l2_hits_total, the hits of cache_hits_total', (s) => s.l1Hits);
    fromStats('cache_l2_hits_total', 'Cache hits answered by Redis (or the development memory store)', (s) => s.l2Hits);
    fromStats('cache_l1_evictions_total', 'L1 entries dropped to stay within CACHE_L1_MAX_ENTRIES / CACHE_L1_MAX_BYTES', (s) => s.l1?.evictions ?? 0);
    fromStats('cache_l1_invalidations_total', 'Keys L1 heard changed in Redis (any instance or client), held or not', (s) => s.l1?.invalidations ?? 0);
    fromStats('cache_l1_flushes_total', 'Times L1 was emptied: its invalidation channel went down, or Redis was flushed', (s) => s.l1?.flushes ?? 0);
    fromStats('cache_l1_channel_reconnects_total', "Times L1's invalidation channel was lost after being up and re-established", (s) => s.l1?.channelReconnects ?? 0);
    const l1Gauge = (name: string, help: string, pick: (s: CacheStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          const src = self();
          if (src !== undefined) this.set(pick(await scrapeStats(src)));
        },
      });
    l1Gauge('cache_l1_enabled', 'The in-process tier is on (1) or off (0: CACHE_L1=false, or the memory store)', (s) => (s.l1 === null ? 0 : 1));
    l1Gauge('cache_l1_channel_up', "L1's invalidation channel is up and L1 serves (1); 0 while it is down or connecting (L1 bypassed) and when L1 is off", (s) => (s.l1?.channel === 'up' ? 1 : 0));
    // Per node, so an alert or a panel can say which master's channel is down (on a cluster L1 is
    // bypassed while any one is); no series while L1 is off.
    new Gauge({
      name: 'cache_l1_node_channel_up',
      help: "L1's invalidation channel to one Redis node (the master, or each cluster master) is up (1) or not (0)",
      labelNames: ['node'],
      registers: [this.registry],
      async collect() {
        const src = self();
        if (src === undefined) return;
        const channels = (await scrapeStats(src)).l1?.channels ?? [];
        this.reset();
        for (const c of channels) this.set({ node: c.address }, c.state === 'up' ? 1 : 0);
      },
    });
    l1Gauge('cache_l1_entries', 'Entries in the in-process tier', (s) => s.l1?.entries ?? 0);
    l1Gauge('cache_l1_bytes', 'Bytes in the in-process tier, as counted against CACHE_L1_MAX_BYTES (stored text, not heap)', (s) => s.l1?.bytes ?? 0);
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
    // The fallback's ceiling as a series, so an alert or a graph compares in-flight with it
    // without copying DB_FALLBACK_CONCURRENCY into the rules.
    new Gauge({
      name: 'cache_db_fallback_limit',
      help: 'Database fallback slots (DB_FALLBACK_CONCURRENCY); reads past it are answered 503',
      registers: [this.registry],
      collect() {
        const src = self();
        if (src !== undefined) this.set(src.fallbackLimit());
      },
    });
    // The invalidation outbox: deletes that failed after a commit and wait for Redis. While an
    // entry waits, reads it covers bypass the cache, so a growing outbox is database load and
    // a Redis that keeps refusing writes; past OUTBOX_MAX_KEYS it collapses to one flush of the
    // prefix on recovery (a cold cache), which flush_all reports.
    new Gauge({
      name: 'cache_invalidation_outbox_pending',
      help: 'Failed invalidations waiting to be replayed, by kind (keys, tags, patterns)',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        const src = self();
        if (src === undefined) return;
        const p = src.pendingInvalidations();
        this.set({ kind: 'keys' }, p.keys);
        this.set({ kind: 'tags' }, p.tags);
        this.set({ kind: 'patterns' }, p.patterns);
      },
    });
    new Gauge({
      name: 'cache_invalidation_outbox_flush_all',
      help: 'The outbox overflowed (1): on recovery every key under the prefix is deleted',
      registers: [this.registry],
      collect() {
        const src = self();
        if (src !== undefined) this.set(src.pendingInvalidations().flushAll ? 1 : 0);
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
