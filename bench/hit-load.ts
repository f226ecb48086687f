/**
 * What the hit-path benchmarks (cache.bench.ts, hit-cpu.ts, layout.ts) share: the cached value,
 * the key count, and the loop that keeps a fixed number of calls in flight.
 */

export const KEYS = 1000;
export const IN_FLIGHT = 64;

/** A user profile of about 600 bytes as JSON: the value every hit-path bench reads. */
export const profile = (id: number) => ({
  id,
  displayName: `User ${id}`,
  bio: 'Builds things. '.repeat(8),
  avatarUrl: `https://cdn.example.com/avatars/${id}.png`,
  guilds: [1, 2, 3].map((g) => ({ id: g * id, role: 'member' })),
  createdAt: '2025-01-01T00:00:00.000Z',
});

/**
 * Calls op(key index) with IN_FLIGHT calls in flight until durationMs have passed, each worker
 * stepping through the KEYS indices; resolves how many calls completed.
 */
export async function keepInFlight(op: (i: number) => Promise<unknown>, durationMs: number): Promise<number> {
  let done = 0;
  const until = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, w) => {
      for (let i = w; performance.now() < until; i += IN_FLIGHT) {
        await op(i % KEYS);
        done++;
      }
    }),
  );
  return done;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;

/** Calls per second of op, IN_FLIGHT in flight for durationMs. */
export async function drive(op: (i: number) => Promise<unknown>, durationMs: number): Promise<number> {
  const t0 = performance.now();
  const done = await keepInFlight(op, durationMs);
  return (done / (performance.now() - t0)) * 1000;
}

/**
 * Many short paired rounds, each pair in alternating order (base first, then lib first): the
 * machine's speed drifts over seconds on a shared host, and a drift inside a pair then favours
 * neither side. Callers report the median pair ratio.
 */
export async function pairedRounds(baseline: (i: number) => Promise<unknown>, lib: (i: number) => Promise<unknown>, rounds: number, roundMs: number): Promise<{ base: number[]; lib: number[] }> {
  const out = { base: [] as number[], lib: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      out.base.push(await drive(baseline, roundMs));
      out.lib.push(await drive(lib, roundMs));
    } else {
      out.lib.push(await drive(lib, roundMs));
      out.base.push(await drive(baseline, roundMs));
    }
  }
  return out;
}

/** Mean µs per call of op over keys [from, from + n), one call in flight. */
export async function sequentialUs(op: (i: number) => Promise<unknown>, from: number, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = from; i < from + n; i++) await op(i);
  return ((performance.now() - t0) * 1000) / n;
}
