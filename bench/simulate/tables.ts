/**
 * `npm run simulate -- --tables`: steady-state hit rate by TTL × request rate and by Zipf skew.
 * Each cell comes from the steady-state model (model.ts), not from a replay: at 86.4M
 * requests/day a replayed cell is millions of requests, and the tables took minutes. The model
 * is checked against replayed cells (steadyHitRate in bench/simulate.ts) by
 * test/bench/simulate-model.test.ts.
 */
import type { CachedKind } from '../../src/app/cache-policy.ts';
import { parseTtlOverrides, type TtlTable, type World } from '../workload.ts';
import { steadyStateModel, type ModelResult } from './model.ts';
import { fmtInt, fmtPct, mdTable } from './report.ts';

export interface SweepBase {
  world: World;
  zipf: number;
  writeRatio: number;
  seed: number;
  ttls: TtlTable;
}

export const SWEEP_RATES_PER_DAY = [100_000, 1_000_000, 10_000_000, 86_400_000];
export const SWEEP_TTLS = [30, 60, 300, 900, 3600];
export const SWEEP_ZIPF = [0, 0.6, 0.8, 0.99, 1.2];

/** Longest TTL among the kinds the mix reads (sessions excluded). */
export function maxTtl(ttls: TtlTable): number {
  return Math.max(...(Object.entries(ttls) as Array<[CachedKind, number]>).filter(([k]) => k !== 'session').map(([, v]) => v));
}

/**
 * The window a replayed cell measures: after a warm-up of one longest TTL, the next one, or
 * 100,000 requests when that is longer.
 */
export function steadyWindow(ratePerSecond: number, ttls: TtlTable): { fromSeconds: number; durationSeconds: number } {
  const warm = maxTtl(ttls);
  const measure = Math.max(warm, 100_000 / ratePerSecond);
  return { fromSeconds: warm, durationSeconds: warm + measure };
}

/** The model's cell, its chat row counts taken mid-window like a replayed cell's. */
export function modelCell(base: SweepBase, ratePerSecond: number, ttls: TtlTable, zipf = base.zipf): ModelResult {
  const w = steadyWindow(ratePerSecond, ttls);
  return steadyStateModel({ world: base.world, ratePerSecond, zipf, writeRatio: base.writeRatio, ttls, atSeconds: (w.fromSeconds + w.durationSeconds) / 2 });
}

export function rateLabel(perDay: number): string {
  const perSecond = perDay / 86_400;
  const day = perDay >= 1e6 ? `${perDay / 1e6}M/day` : `${perDay / 1e3}K/day`;
  return `${day} (${perSecond < 10 ? perSecond.toFixed(1) : fmtInt(perSecond)}/s)`;
}

export function ttlRateTable(base: SweepBase): string {
  const header = ['TTL \\ rate', ...SWEEP_RATES_PER_DAY.map(rateLabel)];
  const ttlRows: Array<[string, TtlTable]> = [['cache-policy.ts defaults', base.ttls]];
  for (const t of SWEEP_TTLS) ttlRows.push([`${t >= 60 ? `${t / 60} min` : `${t} s`} (every kind)`, parseTtlOverrides(String(t), base.ttls)]);
  const rows = ttlRows.map(([label, ttls]) => [label, ...SWEEP_RATES_PER_DAY.map((perDay) => fmtPct(modelCell(base, perDay / 86_400, ttls).hitRate))]);
  return mdTable(header, rows);
}

export function zipfTable(base: SweepBase, ratePerSecond: number): string {
  const rows = SWEEP_ZIPF.map((s) => {
    const m = modelCell(base, ratePerSecond, base.ttls, s);
    return [s === 0 ? '0 (uniform)' : String(s), fmtPct(m.hitRate), m.rowsPerRequestWithCache.toFixed(2), m.rowsPerRequestWithoutCache.toFixed(2)];
  });
  return mdTable(['Zipf s', 'steady hit rate', 'rows/request (cache)', 'rows/request (no cache)'], rows);
}
