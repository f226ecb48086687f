/**
 * The simulator's tables come from the steady-state model (bench/simulate/model.ts), not from
 * replays: here the model is checked against the trace replayed through the library
 * (createCache() on its memory store, bench/simulate.ts) on small cells that differ in TTL,
 * rate, skew and write share. Each cell measures the replay over the window a table cell
 * describes (steadyWindow). Dropping the model's invalidation term puts every cell 2.6 to 20
 * points off.
 */
import { describe, expect, it } from 'vitest';
import { steadyHitRate } from '../../bench/simulate.ts';
import { keyHitProbability, meanLifeSeconds } from '../../bench/simulate/model.ts';
import { modelCell, type SweepBase } from '../../bench/simulate/tables.ts';
import { parseTtlOverrides, syntheticWorld } from '../../bench/workload.ts';

const world = syntheticWorld(3000, 2999, 1);

interface Cell {
  name: string;
  ratePerSecond: number;
  /** `--ttl` override; undefined: cache-policy.ts's TTLs. */
  ttl: string | undefined;
  zipf: number;
  writeRatio: number;
}

const CELLS: Cell[] = [
  { name: "cache-policy.ts's TTLs (30 s to 1 h), 10 requests/s", ratePerSecond: 10, ttl: undefined, zipf: 0.99, writeRatio: 0.05 },
  { name: 'every TTL 30 s, 20 requests/s', ratePerSecond: 20, ttl: '30', zipf: 0.99, writeRatio: 0.05 },
  { name: 'every TTL 5 min, uniform ids, 200 requests/s', ratePerSecond: 200, ttl: '300', zipf: 0, writeRatio: 0.05 },
  { name: 'every TTL 1 h, 30 % writes, 20 requests/s', ratePerSecond: 20, ttl: '3600', zipf: 0.99, writeRatio: 0.3 },
  { name: 'every TTL 1 min, Zipf 1.2, 500 requests/s', ratePerSecond: 500, ttl: '60', zipf: 1.2, writeRatio: 0.05 },
  { name: 'every TTL 15 min, Zipf 0.8, 20 % writes, 5 requests/s', ratePerSecond: 5, ttl: '900', zipf: 0.8, writeRatio: 0.2 },
];

describe('steady-state model vs the replayed trace', () => {
  for (const c of CELLS) {
    it(`${c.name}: hit rate within 2 percentage points, rows per request within 3 %`, { timeout: 60_000 }, async () => {
      const base: SweepBase = { world, zipf: c.zipf, writeRatio: c.writeRatio, seed: 1, ttls: parseTtlOverrides(c.ttl) };
      const replay = await steadyHitRate(base, c.ratePerSecond, base.ttls);
      const model = modelCell(base, c.ratePerSecond, base.ttls);
      expect(replay.steady.reads).toBeGreaterThan(50_000);
      expect(Math.abs(model.hitRate - replay.steady.hitRate)).toBeLessThanOrEqual(2);
      const withCache = replay.steady.rowsWithCache / replay.steady.requests;
      const withoutCache = replay.steady.rowsWithoutCache / replay.steady.requests;
      expect(Math.abs(model.rowsPerRequestWithCache / withCache - 1)).toBeLessThanOrEqual(0.03);
      expect(Math.abs(model.rowsPerRequestWithoutCache / withoutCache - 1)).toBeLessThanOrEqual(0.03);
    });
  }
});

describe('one key', () => {
  it('hits λT/(1+λT) of its reads without invalidations, jitter or not', () => {
    for (const [rate, ttl] of [
      [0.01, 30],
      [2, 300],
      [0.5, 3600],
    ] as const) {
      expect(keyHitProbability(rate, ttl, 0, 0)).toBeCloseTo((rate * ttl) / (1 + rate * ttl), 12);
      expect(keyHitProbability(rate, ttl, 0.1, 0)).toBeCloseTo((rate * ttl) / (1 + rate * ttl), 12);
    }
  });

  it('lives E[min(T, Exp(μ))] with T uniform over the jitter: the quadrature matches the closed form', () => {
    for (const [ttl, jitter, mu] of [
      [300, 0.1, 0.001],
      [300, 0.1, 0.05],
      [30, 0.5, 0.2],
      [3600, 0, 0.0003],
    ] as const) {
      const a = ttl * (1 - jitter);
      const b = ttl * (1 + jitter);
      const exact = jitter === 0 ? -Math.expm1(-mu * ttl) / mu : 1 / mu - (Math.exp(-mu * a) - Math.exp(-mu * b)) / (mu * mu * (b - a));
      expect(meanLifeSeconds(ttl, jitter, mu) / exact).toBeCloseTo(1, 4);
    }
  });
});
