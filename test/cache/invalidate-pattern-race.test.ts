/**
 * A value fetched before `invalidatePattern` started must not be written while its SCAN runs and
 * survive it (found by maxmemory.test.ts, independent of eviction).
 *
 * A tagged getOrSet misses on a key with no entry and takes its lease (`<key>\0lease`). invalidatePattern
 * walks the keyspace with SCAN; when it meets an entry it unlinks the entry and its lease, when
 * it meets a lease it unlinks the lease. The entry and the lease sit in different buckets. If the
 * entry's bucket is visited while the key has no entry yet, and the fetch then finishes before
 * the lease's bucket is visited, the lease-checked write succeeds (the lease is still there),
 * writes the entry into a bucket the scan has passed, and deletes the lease itself, so one pass
 * finds neither. The store therefore scans twice: every lease taken before the first pass began
 * is either there for the whole pass (SCAN returns it, so it is revoked) or was consumed by its
 * write during the pass, and then that entry is there for the whole second pass, which deletes it.
 * With one pass the tagged case fails in almost every round. An untagged miss keeps its lease
 * under the key itself (a marker), which one pass finds whenever it visits the key; it runs too.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache, type Cache } from '../../src/cache/index.ts';
import { startRedisWithClient, type RawRedisClient, type TestRedisServer } from '../helpers/redis-server.ts';

let server: TestRedisServer;
let raw: RawRedisClient;

beforeAll(async () => {
  ({ server, raw } = await startRedisWithClient());
});
afterAll(async () => {
  await raw.close();
  await server.stop();
});

describe('invalidatePattern while a miss is being fetched', () => {
  it.each([
    ['a tagged miss (lease key beside the entry)', { tags: ['t'] }],
    ['an untagged miss (lease marker under the key)', {}],
  ])('never lets a value fetched before it survive it: %s', async (_name, call) => {
    const prefix = `pr${randomBytes(3).toString('hex')}:`;
    // Other keys under the prefix, so the SCAN takes many steps, as on a real keyspace.
    for (let i = 0; i < 3000; i += 500) {
      const m = raw.multi();
      for (let j = i; j < i + 500; j++) m.set(`${prefix}other:${j}`, 'x', { EX: 300 });
      await m.exec();
    }
    const reader: Cache = createCache({ redis: server.url, prefix });
    const invalidator: Cache = createCache({ redis: server.url, prefix, scanBatchSize: 20 });
    try {
      await reader.ready();
      await invalidator.ready();
      const KEYS = 20;
      const survivors: string[] = [];
      // Each round: 20 misses hold their leases with the fetch under way; the invalidation
      // starts; the fetches finish one by one while it scans. A few rounds, as the interleaving
      // depends on where the keys hash.
      for (let round = 0; round < 20 && survivors.length === 0; round++) {
        const finish: Array<() => void> = [];
        const reads = Array.from({ length: KEYS }, (_, j) =>
          reader.getOrSet(`r${round}:k${j}`, () => new Promise<string>((resolve) => finish.push(() => resolve('fetched before the invalidation'))), { ttl: 300, ...call }),
        );
        while (finish.length < KEYS) await new Promise((r) => setTimeout(r, 1));
        const invalidation = invalidator.invalidatePattern(`r${round}:*`);
        for (const f of finish) {
          f();
          await new Promise((r) => setTimeout(r, 2));
        }
        await Promise.all(reads);
        await invalidation;
        for (let j = 0; j < KEYS; j++) {
          const value = await invalidator.get(`r${round}:k${j}`);
          if (value !== null) survivors.push(`r${round}:k${j}`);
        }
      }
      expect(survivors).toEqual([]);
    } finally {
      await reader.close();
      await invalidator.close();
    }
  });
});
