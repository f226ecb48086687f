/**
 * TTL jitter: the TTL in ms, spread uniformly over ±`fraction`, so values written together
 * (a deploy, a warm-up, a burst of misses) do not all expire in the same second and come back
 * to the database together.
 */
export function jitteredTtlMs(ttlSeconds: number, fraction: number, random: () => number): number {
  const ms = ttlSeconds * 1000;
  if (fraction === 0) return Math.max(1, Math.round(ms));
  return Math.max(1, Math.round(ms * (1 + fraction * (2 * random() - 1))));
}
