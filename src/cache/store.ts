/**
 * What the facade needs from a backing store. Values are already-encoded strings and TTLs are
 * milliseconds; keys arrive fully prefixed. Both stores pass the same contract suite
 * (test/cache/store-contract.ts).
 *
 * A store throws only CacheError subclasses: RedisUnavailableError, CommandTimeoutError.
 */
export interface StoreEntry {
  key: string;
  value: string;
  ttlMs: number;
}

export interface CacheStore {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<string | null>;
  /** One round trip. */
  getMany(keys: readonly string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** One round trip, atomic. */
  setMany(entries: readonly StoreEntry[]): Promise<void>;
  /** Returns how many of the keys existed. */
  delete(keys: readonly string[]): Promise<number>;
  /** Deletes every key matching a Redis glob pattern, in batches; returns how many. */
  deletePattern(pattern: string, batchSize: number): Promise<number>;
  /** Adds delta; the first write of the key sets its expiry, in the same atomic step. */
  incrBy(key: string, delta: number, ttlMs: number): Promise<number>;
  /** Milliseconds left; null when the key does not exist; -1 when it has no expiry. */
  pttl(key: string): Promise<number | null>;
  exists(key: string): Promise<boolean>;
  /** Number of keys the store holds (Redis: DBSIZE, which counts every key in the database). */
  size(): Promise<number>;
  close(): Promise<void>;
}
