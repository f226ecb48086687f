/** Turns a load generator's raw per-request arrays into a run's percentiles, hit rates and fetch ratio. */
import { loadavg } from 'node:os';
import type { LoadgenResult } from '../loadgen.ts';
import { isReadOp, OPS, type defaultTtls, type OpName, type TraceRequest } from '../workload.ts';
import type { HealthSnapshot, LoadTestOptions, Mode, Percentiles, RunResult } from './types.ts';

export function percentiles(values: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number): number => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number));
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] as number) };
}

/**
 * (key, TTL window) pairs of the trace: a window opens at the first read of a key and lasts its
 * TTL, or until a write that deletes the key completes; the next read opens the next one. An
 * ideal cache fetches exactly once per pair.
 */
export function keyWindows(requests: TraceRequest[], r: LoadgenResult, ttls: ReturnType<typeof defaultTtls>): { windows: number; duplicateMisses: number } {
  type Ev = { t: number; kind: 0 | 1; req: TraceRequest };
  const events: Ev[] = [];
  for (const req of requests) {
    if (isReadOp(req.op)) events.push({ t: req.atMs, kind: 1, req });
    else events.push({ t: req.atMs + (r.latencyMs[req.i] ?? 0), kind: 0, req });
  }
  events.sort((a, b) => a.t - b.t || a.kind - b.kind);
  const until = new Map<string, number>();
  const missesInWindow = new Map<string, number>();
  const groups = new Map<string, Set<string>>();
  let windows = 0;
  let duplicateMisses = 0;
  for (const e of events) {
    const req = e.req;
    if (e.kind === 0) {
      for (const k of req.invalidates) until.delete(k);
      for (const p of req.tags) {
        const g = groups.get(p);
        if (g === undefined) continue;
        for (const k of g) until.delete(k);
        g.clear();
      }
      continue;
    }
    const last = req.reads.length - 1;
    req.reads.forEach((k, idx) => {
      const end = until.get(k.key);
      if (end === undefined || e.t >= end) {
        windows++;
        until.set(k.key, e.t + ttls[k.kind] * 1000);
        missesInWindow.set(k.key, 0);
      }
      if (k.group !== undefined) {
        let g = groups.get(k.group);
        if (g === undefined) groups.set(k.group, (g = new Set()));
        g.add(k.key);
      }
      if (idx === last && r.xCache[req.i] === 2) {
        const m = (missesInWindow.get(k.key) ?? 0) + 1;
        missesInWindow.set(k.key, m);
        if (m > 1) duplicateMisses++;
      }
    });
  }
  return { windows, duplicateMisses };
}

export function analyse(mode: Mode, o: LoadTestOptions, requests: TraceRequest[], r: LoadgenResult, server: HealthSnapshot, ttls: ReturnType<typeof defaultTtls>): RunResult {
  const n = requests.length;
  const statusCounts: Record<string, number> = {};
  let errors = r.networkErrors;
  for (let i = 0; i < n; i++) {
    const s = r.status[i] ?? 0;
    statusCounts[s === 0 ? 'network error' : String(s)] = (statusCounts[s === 0 ? 'network error' : String(s)] ?? 0) + 1;
    if (s !== 0 && (s < 200 || s >= 300)) errors++;
  }
  const perOp = {} as RunResult['perOp'];
  const byOp = new Map<OpName, number[]>();
  for (const op of OPS) byOp.set(op, []);
  const hitLat: number[] = [];
  const hitSvc: number[] = [];
  const bucketLat: number[][] = [];
  const steadyFromMs = (o.durationSeconds / 2) * 1000;
  const bucketMs = Math.max(1, Math.round(o.durationSeconds / 30)) * 1000;
  const timeline: RunResult['timeline'] = [];
  let reads = 0;
  let hits = 0;
  let steadyReads = 0;
  let steadyHits = 0;
  const opHits = new Map<OpName, number>();
  for (const req of requests) {
    const lat = r.latencyMs[req.i] ?? 0;
    byOp.get(req.op)?.push(lat);
    const bl = Math.floor(req.atMs / bucketMs);
    while (bucketLat.length <= bl) bucketLat.push([]);
    bucketLat[bl]?.push(lat);
    if (!isReadOp(req.op)) continue;
    const hit = r.xCache[req.i] === 1 || r.xCache[req.i] === 3;
    reads++;
    if (hit) {
      hits++;
      hitLat.push(lat);
      hitSvc.push(r.serviceMs[req.i] ?? 0);
      opHits.set(req.op, (opHits.get(req.op) ?? 0) + 1);
    }
    if (req.atMs >= steadyFromMs) {
      steadyReads++;
      if (hit) steadyHits++;
    }
    const b = Math.floor(req.atMs / bucketMs);
    while (timeline.length <= b) timeline.push({ fromSeconds: (timeline.length * bucketMs) / 1000, reads: 0, hits: 0, hitRate: 0, p99: 0 });
    const bucket = timeline[b] as RunResult['timeline'][number];
    bucket.reads++;
    if (hit) bucket.hits++;
  }
  timeline.forEach((b, idx) => {
    b.hitRate = b.reads === 0 ? 0 : (b.hits / b.reads) * 100;
    b.p99 = percentiles(bucketLat[idx] ?? []).p99;
  });
  for (const op of OPS) {
    const lats = byOp.get(op) ?? [];
    perOp[op] = { requests: lats.length, hits: opHits.get(op) ?? 0, latency: percentiles(lats) };
  }
  // Firestore: the bill's reads (what Google charges); SQL: rows read. One unit per run, named by the report.
  const dbReadsByDomain = server.billed === undefined ? server.rowsRead : Object.fromEntries(Object.entries(server.billed).filter(([, l]) => l.reads !== 0).map(([d, l]) => [d, l.reads]));
  const dbReads = Object.values(dbReadsByDomain).reduce((a, b) => a + b, 0);
  const kw = mode === 'cache' ? keyWindows(requests, r, ttls) : { windows: 0, duplicateMisses: 0 };
  const lag = percentiles(r.sendLagMs);
  return {
    mode,
    requests: n,
    errors,
    errorSamples: r.errorSamples,
    statusCounts,
    throughput: n / (r.elapsedMs / 1000),
    latency: percentiles(r.latencyMs),
    hitLatency: percentiles(hitLat),
    serviceLatency: percentiles(r.serviceMs),
    hitServiceLatency: percentiles(hitSvc),
    perOp,
    reads,
    hits,
    hitRate: reads === 0 ? 0 : (hits / reads) * 100,
    steady: { fromSeconds: steadyFromMs / 1000, reads: steadyReads, hits: steadyHits, hitRate: steadyReads === 0 ? 0 : (steadyHits / steadyReads) * 100 },
    timeline,
    dbReadsByDomain,
    dbReads,
    server,
    keyWindows: kw.windows,
    fetchesPerKeyWindow: kw.windows === 0 ? 0 : server.fetches / kw.windows,
    duplicateMisses: kw.duplicateMisses,
    maxSendLagMs: lag.max,
    p99SendLagMs: lag.p99,
    loadAverage: loadavg()[0] ?? 0,
  };
}
