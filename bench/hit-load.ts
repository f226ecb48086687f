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
