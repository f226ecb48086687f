import { createHash } from 'node:crypto';
import type { createClient } from 'redis';
import { RedisUnavailableError } from './errors.ts';
import type { Guard } from './guard.ts';
import type { CacheStore, StoreEntry } from './store.ts';

/** A node-redis v5 client as `createClient()` returns it. */
export type NodeRedisClient = ReturnType<typeof createClient>;

export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * INCRBY and, when the key has no expiry yet (the first write, or a key left without one),
 * PEXPIRE, in one atomic script: INCR then EXPIRE as two calls leaves a counter without expiry
 * whenever the process dies or the connection drops between them.
 */
const INCR_WITH_TTL = luaScript(`
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`);

export class RedisStore implements CacheStore {
  readonly kind = 'redis' as const;
  readonly client: NodeRedisClient;
  readonly #guard: Guard;

  constructor(client: NodeRedisClient, guard: Guard) {
    this.client = client;
    this.#guard = guard;
  }

  /**
   * Runs one call under the deadline. A client that is not ready fails at once: no offline
   * queue grows while Redis is away, whoever configured the client.
   */
  run<T>(operation: string, call: (client: NodeRedisClient) => Promise<T>): Promise<T> {
    if (!this.client.isReady) {
      return Promise.reject(new RedisUnavailableError(`Redis ${operation} skipped: ${this.client.isOpen ? 'reconnecting' : 'not connected'}`));
    }
    return this.#guard.run(operation, () => call(this.client));
  }

  /** EVALSHA, falling back to EVAL once when the server has not seen the script (restart, flush). */
  async evalScript(operation: string, script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.run(operation, (c) => c.evalSha(script.sha1, { keys, arguments: args }));
    } catch (err) {
      if (err instanceof Error && /NOSCRIPT/.test(err.message)) {
        return this.run(operation, (c) => c.eval(script.source, { keys, arguments: args }));
      }
      throw err;
    }
  }

  get(key: string): Promise<string | null> {
    return this.run('GET', (c) => c.get(key));
  }

  getMany(keys: readonly string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run('MGET', (c) => c.mGet([...keys]));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run('SET', (c) => c.set(key, value, { expiration: { type: 'PX', value: ttlMs } }));
  }

  async setMany(entries: readonly StoreEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.run('MULTI SET', (c) => {
      const m = c.multi();
      for (const e of entries) m.set(e.key, e.value, { expiration: { type: 'PX', value: e.ttlMs } });
      return m.exec();
    });
  }

  delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    return this.run('UNLINK', (c) => c.unlink([...keys]));
  }

  async deletePattern(pattern: string, batchSize: number): Promise<number> {
    let cursor = '0';
    let deleted = 0;
    // SCAN visits the keyspace in steps, so Redis never blocks the way KEYS does; UNLINK frees
    // memory off the main thread. Each step has its own deadline.
    do {
      const reply = await this.run('SCAN', (c) => c.scan(cursor, { MATCH: pattern, COUNT: batchSize }));
      cursor = reply.cursor;
      if (reply.keys.length > 0) deleted += await this.delete(reply.keys);
    } while (cursor !== '0');
    return deleted;
  }

  async incrBy(key: string, delta: number, ttlMs: number): Promise<number> {
    const reply = await this.evalScript('INCR', INCR_WITH_TTL, [key], [String(delta), String(ttlMs)]);
    return Number(reply);
  }

  async pttl(key: string): Promise<number | null> {
    const ms = await this.run('PTTL', (c) => c.pTTL(key));
    return ms === -2 ? null : ms;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.run('EXISTS', (c) => c.exists(key))) > 0;
  }

  size(): Promise<number> {
    return this.run('DBSIZE', (c) => c.dbSize());
  }

  async close(): Promise<void> {
    // The facade owns the client's lifecycle.
  }
}
