import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.ts';
import { globToRegExp } from './glob.ts';
import type { CacheStore, StoreEntry } from './store.ts';

export interface MemoryStoreOptions {
  /** Most entries held before the least recently used is evicted. Default 10,000. */
  maxEntries?: number;
  /** Most bytes (keys + values, UTF-16 length × 2) held. Default 64 MiB. */
  maxBytes?: number;
  /** Time source for expiry. Default: the system clock. */
  clock: Clock;
}

interface Entry {
  value: string;
  /** Clock time at which the entry expires. */
  expiresAtMs: number;
}

/**
 * A bounded in-process store for development and tests, with the Redis store's semantics.
 * Expiry is checked against the injected clock on read (lru-cache's own TTL timer cannot be
 * driven by a fake clock), so expired entries cost memory until read, evicted or swept by size().
 */
export class MemoryStore implements CacheStore {
  readonly kind = 'memory' as const;
  readonly #lru: LRUCache<string, Entry>;
  readonly #clock: Clock;

  constructor(options: MemoryStoreOptions) {
    this.#clock = options.clock;
    this.#lru = new LRUCache<string, Entry>({
      max: options.maxEntries ?? 10_000,
      maxSize: options.maxBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (entry, key) => (key.length + entry.value.length) * 2 + 16,
    });
  }

  #live(key: string): Entry | undefined {
    const e = this.#lru.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAtMs <= this.#clock.now()) {
      this.#lru.delete(key);
      return undefined;
    }
    return e;
  }

  async get(key: string): Promise<string | null> {
    return this.#live(key)?.value ?? null;
  }

  async getMany(keys: readonly string[]): Promise<(string | null)[]> {
    return keys.map((k) => this.#live(k)?.value ?? null);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#lru.set(key, { value, expiresAtMs: this.#clock.now() + ttlMs });
  }

  async setMany(entries: readonly StoreEntry[]): Promise<void> {
    const now = this.#clock.now();
    for (const e of entries) this.#lru.set(e.key, { value: e.value, expiresAtMs: now + e.ttlMs });
  }

  async delete(keys: readonly string[]): Promise<number> {
    let n = 0;
    for (const k of keys) {
      if (this.#live(k) !== undefined) n++;
      this.#lru.delete(k);
    }
    return n;
  }

  async deletePattern(pattern: string): Promise<number> {
    const re = globToRegExp(pattern);
    let n = 0;
    for (const key of Array.from(this.#lru.keys())) {
      if (!re.test(key)) continue;
      if (this.#live(key) !== undefined) n++;
      this.#lru.delete(key);
    }
    return n;
  }

  async incrBy(key: string, delta: number, ttlMs: number): Promise<number> {
    const e = this.#live(key);
    const current = e === undefined ? 0 : Number(e.value);
    const next = current + delta;
    const expiresAtMs = e === undefined ? this.#clock.now() + ttlMs : e.expiresAtMs;
    this.#lru.set(key, { value: String(next), expiresAtMs });
    return next;
  }

  async pttl(key: string): Promise<number | null> {
    const e = this.#live(key);
    return e === undefined ? null : e.expiresAtMs - this.#clock.now();
  }

  async exists(key: string): Promise<boolean> {
    return this.#live(key) !== undefined;
  }

  async size(): Promise<number> {
    const now = this.#clock.now();
    for (const [key, e] of Array.from(this.#lru.entries())) if (e.expiresAtMs <= now) this.#lru.delete(key);
    return this.#lru.size;
  }

  async close(): Promise<void> {
    this.#lru.clear();
  }
}
