/**
 * Shared by the examples: a cache on REDIS_URL (default redis://127.0.0.1:6379) under the
 * `example:` prefix, and a stand-in "database" that counts its reads and takes a few ms.
 */
import { createCache, type CacheOptions } from '../src/cache/index.ts';

export function exampleCache(options: Omit<CacheOptions, 'redis' | 'prefix'> = {}) {
  return createCache({ redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: `example:${process.pid}:`, ...options });
}

export const db = {
  reads: 0,
  async query<T>(result: T, latencyMs = 5): Promise<T> {
    this.reads++;
    await new Promise((r) => setTimeout(r, latencyMs));
    return structuredClone(result);
  },
};
