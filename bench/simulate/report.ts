/** The simulator's cost model and the formatting of its tables (bench/simulate.ts, bench/loadtest.ts). */
import { isReadOp, OPS, OP_LABEL } from '../workload.ts';
import type { SimulationResult } from '../simulate.ts';

export function pct(hits: number, total: number): number {
  return total === 0 ? 0 : (hits / total) * 100;
}

// ---------------------------------------------------------------------------------------------
// Cost

export interface CostOptions {
  /** USD per 100,000 reads. Default 0.06 (Firestore's published price per 100,000 document reads). */
  pricePer100k: number;
  /** Reads a day that cost nothing. Default 50,000 (Firestore's free quota). */
  freeReadsPerDay: number;
}

export const DEFAULT_COST: CostOptions = { pricePer100k: 0.06, freeReadsPerDay: 50_000 };
/** Days in the "month" of the cost tables. */
export const DAYS_PER_MONTH = 30;

export interface Cost {
  readsPerDay: number;
  readsPerMonth: number;
  billedReadsPerMonth: number;
  usdPerMonth: number;
  usdPerYear: number;
}

export function cost(readsPerDay: number, o: CostOptions = DEFAULT_COST): Cost {
  const billedPerDay = Math.max(0, readsPerDay - o.freeReadsPerDay);
  const usdPerMonth = ((billedPerDay * DAYS_PER_MONTH) / 100_000) * o.pricePer100k;
  return {
    readsPerDay,
    readsPerMonth: readsPerDay * DAYS_PER_MONTH,
    billedReadsPerMonth: billedPerDay * DAYS_PER_MONTH,
    usdPerMonth,
    usdPerYear: usdPerMonth * 12,
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtPct = (n: number): string => `${n.toFixed(1)} %`;
export const fmtUsd = (n: number): string => (n < 100 ? `$${n.toFixed(2)}` : `$${fmtInt(n)}`);

export function mdTable(header: string[], rows: string[][], align?: Array<'l' | 'r'>): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const sep = a.map((x) => (x === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export function perOpTable(r: SimulationResult): string {
  const rows = OPS.filter((op) => r.perOp[op].requests > 0).map((op) => {
    const s = r.perOp[op];
    return [
      `${op} — \`${OP_LABEL[op]}\``,
      fmtInt(s.requests),
      isReadOp(op) ? fmtPct(pct(s.hits, s.requests)) : 'write',
      fmtInt(s.fetches),
      (s.rows / s.requests).toFixed(2),
      (s.rowsWithoutCache / s.requests).toFixed(2),
    ];
  });
  rows.push(['**total**', fmtInt(r.requests), fmtPct(r.hitRate), fmtInt(r.fetches), (r.rowsWithCache / r.requests).toFixed(2), (r.rowsWithoutCache / r.requests).toFixed(2)]);
  return mdTable(['operation', 'requests', 'hit rate', 'DB fetches', 'rows/request (cache)', 'rows/request (no cache)'], rows);
}

/** `unit`: what a read is ("DB reads", "billed document reads"), for the first column. */
export function costTable(readsPerDayWith: number, readsPerDayWithout: number, o: CostOptions, unit = 'DB reads'): string {
  const w = cost(readsPerDayWith, o);
  const wo = cost(readsPerDayWithout, o);
  const row = (name: string, c: Cost): string[] => [name, fmtInt(c.readsPerDay), fmtInt(c.readsPerMonth), fmtInt(c.billedReadsPerMonth), fmtUsd(c.usdPerMonth), fmtUsd(c.usdPerYear)];
  return mdTable(
    // "past the free quota", not "billed": on Firestore every read is billed, the free ones included.
    ['', `${unit}/day`, 'reads/month', 'reads/month past the free quota', 'USD/month', 'USD/year'],
    [row('without cache', wo), row('with cache', w), ['saved', fmtInt(wo.readsPerDay - w.readsPerDay), '', '', fmtUsd(wo.usdPerMonth - w.usdPerMonth), fmtUsd(wo.usdPerYear - w.usdPerYear)]],
  );
}
