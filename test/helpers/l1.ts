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

/**
 * Puts `key` in the cache's L1: reads until one is served by L1. A read is not kept when an
 * invalidation of its key arrives while it is in flight, and the message of the write that
 * stored the value may arrive after the first read was sent: that read then stays out.
 */
export async function loadIntoL1(c: Cache, key: string, expected: unknown, ms = 3000): Promise<void> {
  const fetcher = (): never => {
    throw new Error(`${key} should be cached`);
  };
  await until(
    `${key} served from L1`,
    async () => {
      const before = await l1Hits(c);
      expect(await c.getOrSet(key, fetcher, 60)).toEqual(expected);
      return (await l1Hits(c)) === before + 1;
    },
    ms,
  );
}
