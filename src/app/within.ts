/** What `within` answers when the time ran out first. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * What `p` settles to, or TIMED_OUT once `ms` have passed without it; a rejection rejects. The
 * timer is cleared either way, so a promise that settles in time leaves nothing holding the
 * process open. `p` itself is not cancelled: the caller decides what a late result is worth.
 */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
