import { RedisNodeError } from './errors.ts';
import { classify } from './guard.ts';
import { globToRegExp } from './glob.ts';
import type { PatternDeletion } from './store.ts';
import type { MasterHandle } from './topology/connection.ts';
import { entryOfLease } from './topology/slots.ts';

/** What a pattern deletion needs from the Redis store, each step under the store's deadline. */
export interface PatternDeletionHost {
  /** The masters, once the first connection is up. */
  masters(): Promise<readonly MasterHandle[]>;
  /** One SCAN step on a master. */
  scan(m: MasterHandle, cursor: string, match: string, count: number): Promise<{ cursor: string; keys: string[] }>;
  /** Deletes the keys (entries with their leases) without waiting for replicas; resolves how many entries there were. */
  unlink(keys: readonly string[]): Promise<number>;
  /** Waits until the replicas have what was deleted on the node holding `touchedKey` (at once without replicas). */
  replicated(touchedKey: string): Promise<void>;
}

/**
 * Every master is scanned at once. The keys the pattern matches, and the leases on such keys,
 * with or without an entry: a lease taken before the invalidation must not write afterwards.
 * SCAN MATCH `<pattern>*` returns both (leases start with their entry's key) and possibly more;
 * the exact pattern is applied here.
 */
export async function deletePattern(host: PatternDeletionHost, pattern: string, batchSize: number, onDeleted?: (n: number) => void): Promise<PatternDeletion> {
  const exact = globToRegExp(pattern);
  const wanted = (k: string): boolean => exact.test(entryOfLease(k) ?? k);
  const masters = await host.masters();
  const results = await Promise.allSettled(masters.map((m) => deleteOn(host, m, pattern, wanted, batchSize, onDeleted)));
  const nodes: PatternDeletion['nodes'] = [];
  let failure: Error | undefined;
  results.forEach((r, i) => {
    const address = (masters[i] as MasterHandle).address;
    if (r.status === 'fulfilled') nodes.push(r.value);
    else failure ??= masters.length === 1 ? classify('SCAN', r.reason) : new RedisNodeError(address, 'invalidatePattern', { cause: r.reason });
  });
  // One node: its own typed error. Several: which one failed, with its error as the cause.
  if (failure !== undefined) throw failure;
  return { deleted: nodes.reduce((n, x) => n + x.deleted, 0), nodes };
}

/**
 * Two SCAN passes over the node. One is not enough: a lease taken before the call, on a key
 * with no entry yet, can be used by its write while the scan runs, after the scan passed the
 * entry's place and before it reaches the lease's; the scan then finds neither and a value
 * fetched before the invalidation survives it. Every such lease is either present for the
 * whole first pass (SCAN returns it, so it is revoked) or consumed during it, and then its
 * entry is present for the whole second pass, which deletes it
 * (test/cache/invalidate-pattern-race.test.ts). SCAN visits the node in steps, so Redis never
 * blocks the way KEYS does; UNLINK frees memory off the main thread; each step has its own deadline.
 */
async function deleteOn(host: PatternDeletionHost, m: MasterHandle, pattern: string, wanted: (k: string) => boolean, batchSize: number, onDeleted: ((n: number) => void) | undefined): Promise<PatternDeletion['nodes'][number]> {
  const started = performance.now();
  let deleted = 0;
  let touched: string | undefined;
  for (let pass = 0; pass < 2; pass++) {
    let cursor = '0';
    do {
      const reply = await host.scan(m, cursor, `${pattern}*`, batchSize);
      cursor = reply.cursor;
      const keys = reply.keys.filter(wanted);
      if (keys.length > 0) {
        const n = await host.unlink(keys);
        deleted += n;
        touched ??= keys[0];
        if (n > 0) onDeleted?.(n);
      }
    } while (cursor !== '0');
  }
  // One WAIT for the node's deletes, all sent on the invalidation connection.
  if (touched !== undefined) await host.replicated(touched);
  return { address: m.address, deleted, ms: performance.now() - started };
}
