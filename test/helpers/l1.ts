/**
 * What the in-process tier's tests share: a fast channel (so a loss is noticed in a few hundred
 * ms), polling until a condition holds, and loading a key into an instance's L1.
 */
import { expect } from 'vitest';
import type { Cache } from '../../src/cache/index.ts';

export const FAST_CHANNEL = { heartbeatMs: 50, channelTimeoutMs: 300 };

/** Resolves once `check` holds, polling every 5 ms; fails the test after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const l1Hits = async (c: Cache): Promise<number> => (await c.getStats()).l1Hits;

/** What loadIntoL1's fetcher throws: the read found no value in Redis. */
class NotCached extends Error {}

/**
 * Puts `key` in the cache's L1: reads until one is served by L1. A read is not kept when an
 * invalidation of its key arrives while it is in flight, and the message of the write that
 * stored the value may arrive after the first read was sent: that read then stays out. A read
 * that finds nothing runs the fetcher, which throws; that is polled like the rest, since a read
 * that failed falls through to the fetcher too (after a failover, a client still moving to the
 * new master). A key that is not there fails the test when `ms` runs out, with that reason.
 */
export async function loadIntoL1(c: Cache, key: string, expected: unknown, ms = 3000): Promise<void> {
  const fetcher = (): never => {
    throw new NotCached(`${key} should be cached`);
  };
  let last: NotCached | undefined;
  try {
    await until(
      `${key} served from L1`,
      async () => {
        const before = await l1Hits(c);
        try {
          expect(await c.getOrSet(key, fetcher, 60)).toEqual(expected);
          last = undefined;
        } catch (err) {
          if (!(err instanceof NotCached)) throw err;
          last = err;
          return false;
        }
        return (await l1Hits(c)) === before + 1;
      },
      ms,
    );
  } catch (err) {
    if (last === undefined || !(err instanceof Error)) throw err;
    throw new Error(`${err.message}; the last read ran the fetcher: ${last.message}`, { cause: err });
  }
}
