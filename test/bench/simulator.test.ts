/**
 * The workload model and the simulator: the Zipf sampler's distribution, determinism of the
 * trace, and the simulator's prediction checked against a short real load test (server process,
 * its own redis-server, PostgreSQL in a schema of its own with DATABASE_URL, else PGlite).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runLoadTest, type LoadTestOptions } from '../../bench/loadtest.ts';
import { cost, simulate } from '../../bench/simulate.ts';
import { createRng, createWorkload, drawSessionUsers, parseTtlOverrides, syntheticWorld, trace, ZipfSampler } from '../../bench/workload.ts';

function frequencies(sampler: ZipfSampler, draws: number): Float64Array {
  const counts = new Float64Array(sampler.n + 1);
  for (let i = 0; i < draws; i++) {
    const k = sampler.sample();
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts.map((c) => c / draws);
}

describe('ZipfSampler', () => {
  it('draws only ids in 1..n', () => {
    const z = new ZipfSampler(37, 0.99, createRng(7));
    for (let i = 0; i < 50_000; i++) {
      const k = z.sample();
      expect(Number.isInteger(k) && k >= 1 && k <= 37).toBe(true);
    }
  });

  it('matches P(k) ∝ 1/k^s (s = 0.99, n = 1000)', () => {
    const z = new ZipfSampler(1000, 0.99, createRng(1));
    const draws = 400_000;
    const f = frequencies(z, draws);
    // Top ranks: each within 4 standard errors of its exact probability.
    for (const k of [1, 2, 3, 5, 10, 50, 100]) {
      const p = z.probability(k);
      const se = Math.sqrt((p * (1 - p)) / draws);
      expect(Math.abs((f[k] ?? 0) - p)).toBeLessThan(4 * se + 1e-4);
    }
    // The head and the tail hold the right mass.
    const head = f.slice(1, 11).reduce((a, b) => a + b, 0);
    let exactHead = 0;
    for (let k = 1; k <= 10; k++) exactHead += z.probability(k);
    expect(Math.abs(head - exactHead)).toBeLessThan(0.005);
    // Total variation distance over the whole support is small.
    let tv = 0;
    for (let k = 1; k <= 1000; k++) tv += Math.abs((f[k] ?? 0) - z.probability(k));
    expect(tv / 2).toBeLessThan(0.02);
  });

  it('follows the exponent: P(1)/P(2) ≈ 2^s for several s', () => {
    for (const s of [0.5, 0.99, 1.2]) {
      const f = frequencies(new ZipfSampler(10_000, s, createRng(3)), 300_000);
      expect((f[1] ?? 0) / (f[2] ?? 1)).toBeGreaterThan(Math.pow(2, s) * 0.93);
      expect((f[1] ?? 0) / (f[2] ?? 1)).toBeLessThan(Math.pow(2, s) * 1.07);
    }
  });

  it('is uniform at s = 0', () => {
    const f = frequencies(new ZipfSampler(10, 0, createRng(5)), 100_000);
    for (let k = 1; k <= 10; k++) expect(Math.abs((f[k] ?? 0) - 0.1)).toBeLessThan(0.006);
  });

  it('is O(1) per draw for a million ids', () => {
    const z = new ZipfSampler(1_000_000, 0.99, createRng(9));
    const t = performance.now();
    let top = 0;
    for (let i = 0; i < 200_000; i++) if (z.sample() === 1) top++;
    expect(performance.now() - t).toBeLessThan(1000);
    expect(Math.abs(top / 200_000 - z.probability(1))).toBeLessThan(0.005);
  });
});

describe('workload model', () => {
  it('yields the same trace for the same seed and world', () => {
    const world = syntheticWorld(5000, 200, 4);
    const a = [...trace(createWorkload({ world, seed: 11 }), 100, 20)].map((r) => `${r.atMs} ${r.method} ${r.path} ${r.session}`);
    const b = [...trace(createWorkload({ world, seed: 11 }), 100, 20)].map((r) => `${r.atMs} ${r.method} ${r.path} ${r.session}`);
    expect(a).toEqual(b);
    expect(a).toHaveLength(2000);
  });

  it('keeps the write ratio and the seed rules', () => {
    const world = syntheticWorld(5000, 500, 4);
    const reqs = [...trace(createWorkload({ world, seed: 2, writeRatio: 0.05 }), 1000, 40)];
    const writes = reqs.filter((r) => r.method !== 'GET').length / reqs.length;
    expect(writes).toBeGreaterThan(0.04);
    expect(writes).toBeLessThan(0.06);
    for (const r of reqs) {
      if (r.op === 'chatPage' || r.op === 'message') {
        const me = world.sessionUsers[r.session] as number;
        expect(r.path.startsWith(`/chats/${Math.ceil(me / 20)}/`)).toBe(true);
      }
      if (r.op === 'guildMembers') expect(r.path).toBe(`/guilds/${Math.ceil((world.sessionUsers[r.session] as number) / 50)}/members`);
    }
  });

  it('draws distinct session users and never the demo user', () => {
    const users = drawSessionUsers(1000, 999, 3);
    expect(new Set(users).size).toBe(999);
    expect(users).not.toContain(1);
  });

  it('parses TTL overrides', () => {
    expect(parseTtlOverrides('60').userProfile).toBe(60);
    expect(parseTtlOverrides('60').session).toBe(86_400);
    expect(parseTtlOverrides('guild=10,job=5')).toMatchObject({ guild: 10, job: 5, userProfile: 300 });
    expect(() => parseTtlOverrides('nope=3')).toThrow();
  });
});

describe('simulator', () => {
  it('fetches each key once when nothing expires or is written', async () => {
    const world = syntheticWorld(2000, 100, 1);
    const r = await simulate({ world, ratePerSecond: 50, durationSeconds: 60, writeRatio: 0, ttls: parseTtlOverrides('100000') });
    const keys = new Set<string>();
    for (const req of trace(createWorkload({ world, seed: 1, writeRatio: 0 }), 50, 60)) for (const k of req.reads) keys.add(k.key);
    expect(r.fetches).toBe(keys.size);
    expect(r.keyReads - r.keyHits).toBe(keys.size);
  });

  it('prices reads after the free tier', () => {
    expect(cost(50_000).usdPerMonth).toBe(0);
    expect(cost(150_000).usdPerMonth).toBeCloseTo(((100_000 * 30) / 100_000) * 0.06, 10);
  });
});

describe('simulator vs a real load test', () => {
  it('predicts the measured hit rate within 3 percentage points', { timeout: 150_000 }, async () => {
    const url = process.env.DATABASE_URL;
    const schema = `lt_test_${randomBytes(4).toString('hex')}`;
    const dir = url === undefined || url === '' ? mkdtempSync(join(tmpdir(), 'rcl-loadtest-')) : undefined;
    const o: LoadTestOptions = {
      users: 2000,
      sessions: 100,
      ratePerSecond: 200,
      durationSeconds: 12,
      zipf: 0.99,
      writeRatio: 0.05,
      seed: 1,
      dbLatencyMs: 0,
      redisUrl: undefined,
      database: dir === undefined && url !== undefined ? { kind: 'postgres', url, schema } : { kind: 'pglite', dir: dir ?? '' },
      connections: 64,
      timeoutMs: 10_000,
      warmupSeconds: 2,
      modes: ['cache'],
      costOptions: { pricePer100k: 0.06, freeReadsPerDay: 50_000 },
      log: () => {},
      bar: false,
    };
    try {
      const out = await runLoadTest(o, 'vitest');
      const run = out.runs.cache;
      expect(run).toBeDefined();
      if (run === undefined) return;
      expect(run.errors).toBe(0);
      expect(run.requests).toBe(2400);
      expect(Math.abs(run.hitRate - out.sim.hitRate)).toBeLessThanOrEqual(3);
      expect(Math.abs(run.steady.hitRate - out.sim.steady.hitRate)).toBeLessThanOrEqual(3);
      // No stampede duplicates: about one fetch per (key, TTL window).
      expect(run.fetchesPerKeyWindow).toBeGreaterThan(0.9);
      expect(run.fetchesPerKeyWindow).toBeLessThanOrEqual(1.1);
    } finally {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      else if (url !== undefined) {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await client.end();
      }
    }
  });
});
