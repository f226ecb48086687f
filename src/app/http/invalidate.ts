/**
 * Pattern invalidation after a committed write. The library rejects when Redis fails part-way
 * (it has already counted and logged the error); the write is committed by then, so the
 * request still succeeds and the keys left behind expire by their TTL. Answering 500 for a
 * saved write would only make the client retry it.
 */
import type { AppDeps } from '../deps.ts';

export async function invalidatePatternAfterCommit(deps: AppDeps, pattern: string): Promise<void> {
  try {
    await deps.cacheAccess.invalidatePattern(pattern);
  } catch {
    // Reported by the cache (logger + onError); see above.
  }
}
