/**
 * Probabilistic early expiration, "XFetch" (Vattani, Chierichetti, Lowenstein: Optimal
 * Probabilistic Cache Stampede Prevention, VLDB 2015). A read at `now` refreshes early when
 *
 *     now − δ · β · ln(U) ≥ expiry,   U uniform in (0, 1]
 *
 * with δ the time the last fetch took. −ln(U) is exponential with mean 1, so the chance grows
 * smoothly as expiry nears and is negligible until about δ·β before it: a hot key is refreshed
 * by one reader shortly before it expires, a cold key is left alone, and a slow query (large δ)
 * starts earlier so it finishes in time. No coordination is needed for that; the lease then
 * stops two instances that both drew an early refresh from both fetching.
 */
export function shouldRefreshEarly(nowMs: number, freshUntilMs: number, fetchMs: number, beta: number, random: () => number): boolean {
  if (fetchMs <= 0) return false;
  // −ln(U) exceeds 40 with probability e^−40: far from expiry, skip the draw (the hit path).
  if (freshUntilMs - nowMs > fetchMs * beta * 40) return false;
  // 1 − random() is in (0, 1], so the logarithm is finite.
  return nowMs - fetchMs * beta * Math.log(1 - random()) >= freshUntilMs;
}
