import { namespaceOf } from './keys.ts';
import type { L1Snapshot } from './tiers/l1.ts';

export interface NamespaceStats {
  hits: number;
  misses: number;
  /** Percent, 0–100, two decimals; 0 when there were no reads. */
  hitRate: number;
  errors: number;
  /** getOrSet answers served stale (past TTL, within grace, or fail-safe); also counted in hits. */
  stale: number;
}

export interface CacheStats extends NamespaceStats {
  sets: number;
  deletes: number;
  /** Entries that failed to decode and were dropped. */
  decodeErrors: number;
  /** getOrSet fetcher runs (database reads the cache caused). */
  fetches: number;
  /** getOrSet calls answered by an in-flight fetch of the same key in this process. */
  coalesced: number;
  /** getOrSet misses that waited for another caller's lease (any instance) instead of fetching. */
  leaseWaits: number;
  /** Lease waits ended by Redis announcing the holder's write or release (lease-watch.ts), rather than by a poll. */
  leaseWakeups: number;
  /** Waits that reached lockWaitMs, after which the caller fetched without writing. */
  lockTimeouts: number;
  /** Fetched values not written because their lease was revoked by an invalidation or taken over. */
  staleWritesPrevented: number;
  /** Refreshes that failed and served the stale value instead (fail-safe). */
  failSafe: number;
  /** Background refreshes started by XFetch before expiry. */
  earlyRefreshes: number;
  /** Invalidations that fewer than `invalidationReplicas` replicas acknowledged in time (reported, and rejected). */
  replicationTimeouts: number;
  /** Hits answered by the in-process tier (also counted in hits); 0 without one. */
  l1Hits: number;
  /** Hits answered by Redis (or the in-memory store): hits − l1Hits. */
  l2Hits: number;
  /** The in-process tier (CacheOptions.l1): size, evictions, invalidations heard, flushes, channel state; null when off. */
  l1: L1Snapshot | null;
  /** Keys in the store (Redis DBSIZE); null when the store could not answer. */
  keys: number | null;
  store: 'redis' | 'memory';
  namespaces: Record<string, NamespaceStats>;
}

interface Counters {
  hits: number;
  misses: number;
  errors: number;
  stale: number;
}

function rate(hits: number, misses: number): number {
  const reads = hits + misses;
  return reads === 0 ? 0 : Math.round((hits / reads) * 10_000) / 100;
}

/**
 * In-process counters. The hot path pays one Map lookup and two increments; nothing is sent
 * to Redis. Namespaces are the key's first segment, so their number is bounded by the key
 * schema, not by the data.
 */
export class StatsRecorder {
  hits = 0;
  l1Hits = 0;
  misses = 0;
  errors = 0;
  sets = 0;
  deletes = 0;
  decodeErrors = 0;
  fetches = 0;
  coalesced = 0;
  stale = 0;
  leaseWaits = 0;
  leaseWakeups = 0;
  lockTimeouts = 0;
  staleWritesPrevented = 0;
  failSafe = 0;
  earlyRefreshes = 0;
  replicationTimeouts = 0;
  readonly #byNamespace = new Map<string, Counters>();

  /** The namespaces seen first, checked by prefix without slicing the key (the hit path). */
  readonly #known: { name: string; counters: Counters }[] = [];

  /** The counters of the namespace of key[from…]. */
  #ns(key: string, from = 0): Counters {
    const known = this.#known;
    for (let i = 0; i < known.length; i++) {
      const k = known[i] as { name: string; counters: Counters };
      const end = from + k.name.length;
      if ((key.length === end || key.charCodeAt(end) === 58) /* : */ && key.startsWith(k.name, from)) return k.counters;
    }
    const name = namespaceOf(from === 0 ? key : key.slice(from));
    let c = this.#byNamespace.get(name);
    if (c === undefined) {
      c = { hits: 0, misses: 0, errors: 0, stale: 0 };
      this.#byNamespace.set(name, c);
      if (this.#known.length < 16) this.#known.push({ name, counters: c });
    }
    return c;
  }

  hit(key: string): void {
    this.hitAt(key, 0);
  }

  /**
   * A hit on the key that starts at `from` in `fullKey` (after the cache's prefix). The hit
   * path reads the namespace from the prefixed key, which the client flattens to write anyway,
   * so the caller's key (often a rope from a template literal) is never flattened for stats.
   */
  hitAt(fullKey: string, from: number): void {
    this.hits++;
    this.#ns(fullKey, from).hits++;
  }

  /** A hit served by the in-process tier (counted as a hit too). */
  l1HitAt(fullKey: string, from: number): void {
    this.l1Hits++;
    this.hitAt(fullKey, from);
  }

  /** A stale answer on the key that starts at `from` in `fullKey` (the hit is counted apart). */
  staleAt(fullKey: string, from: number): void {
    this.stale++;
    this.#ns(fullKey, from).stale++;
  }

  miss(key: string): void {
    this.misses++;
    this.#ns(key).misses++;
  }

  error(key: string | undefined): void {
    this.errors++;
    if (key !== undefined) this.#ns(key).errors++;
  }

  snapshot(keys: number | null, store: 'redis' | 'memory', l1: L1Snapshot | null): CacheStats {
    const namespaces: Record<string, NamespaceStats> = {};
    for (const [name, c] of this.#byNamespace) namespaces[name] = { ...c, hitRate: rate(c.hits, c.misses) };
    return {
      hits: this.hits,
      misses: this.misses,
      hitRate: rate(this.hits, this.misses),
      errors: this.errors,
      sets: this.sets,
      deletes: this.deletes,
      decodeErrors: this.decodeErrors,
      fetches: this.fetches,
      coalesced: this.coalesced,
      stale: this.stale,
      leaseWaits: this.leaseWaits,
      leaseWakeups: this.leaseWakeups,
      lockTimeouts: this.lockTimeouts,
      staleWritesPrevented: this.staleWritesPrevented,
      failSafe: this.failSafe,
      earlyRefreshes: this.earlyRefreshes,
      replicationTimeouts: this.replicationTimeouts,
      l1Hits: this.l1Hits,
      l2Hits: this.hits - this.l1Hits,
      l1,
      keys,
      store,
      namespaces,
    };
  }

  reset(): void {
    this.hits = this.l1Hits = this.misses = this.errors = this.sets = this.deletes = this.decodeErrors = this.fetches = this.coalesced = 0;
    this.stale = this.leaseWaits = this.leaseWakeups = this.lockTimeouts = this.staleWritesPrevented = this.failSafe = this.earlyRefreshes = this.replicationTimeouts = 0;
    this.#byNamespace.clear();
    this.#known.length = 0;
  }
}
