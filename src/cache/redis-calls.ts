import { RedisUnavailableError, ReplicationTimeoutError } from './errors.ts';
import type { Guard } from './guard.ts';
import type { LuaScript } from './scripts.ts';
import type { MasterHandle, RedisConnection } from './topology/connection.ts';

export interface RedisCallsOptions {
  /** How long calls made before the very first connection is up wait for it. */
  firstConnectWaitMs: number;
  /** Invalidations (and leased writes that went through) WAIT for this many replicas. Default 0. */
  replicas?: number;
  /** WAIT's time-out. Default 100. */
  replicaTimeoutMs?: number;
  /** The connection invalidations go out on (WAIT blocks its connection). Default: the main one. */
  invalidator?: RedisConnection;
}

/**
 * How RedisStore's calls other than its reads reach Redis: under the guard's deadline, waiting
 * for the very first connection only, and invalidations on their own connection, waiting for
 * replicas when configured. The reads send through the guard themselves (redis-store.ts).
 */
export class RedisCalls {
  readonly replicas: number;
  readonly invalidator: RedisConnection;
  readonly #replicaTimeoutMs: number;
  readonly #firstConnectWaitMs: number;
  readonly #guard: Guard;

  constructor(
    readonly connection: RedisConnection,
    guard: Guard,
    opts: RedisCallsOptions,
  ) {
    this.#guard = guard;
    this.replicas = opts.replicas ?? 0;
    this.#replicaTimeoutMs = opts.replicaTimeoutMs ?? 100;
    this.#firstConnectWaitMs = opts.firstConnectWaitMs;
    this.invalidator = opts.invalidator ?? connection;
  }

  /**
   * Runs one call under the deadline. A connection that is not ready fails at once: no offline
   * queue grows while Redis is away, whoever configured the client.
   */
  run<T>(operation: string, call: (c: RedisConnection) => Promise<T>): Promise<T> {
    return this.runOn(this.connection, operation, call);
  }

  runOn<T>(c: RedisConnection, operation: string, call: (c: RedisConnection) => Promise<T>): Promise<T> {
    if (!c.isReady) return this.firstConnect(operation, c).then(() => this.runOn(c, operation, call));
    return this.#guard.runWith(operation, call, c);
  }

  /** A script, under the deadline. Its keys share one slot (an entry and its lease). */
  evalScript(operation: string, script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    return this.run(operation, (c) => c.evalScript(script, keys, args));
  }

  /**
   * An invalidation: on its own connection, and, with `replicas`, not resolved until that many
   * replicas have it (WAIT on each node it touched, `keys` naming them), so a failover cannot
   * bring back what it removed. Too few acknowledgements reject with ReplicationTimeoutError;
   * the master has the change either way, and retrying it is harmless.
   */
  invalidation<T>(operation: string, keys: readonly string[], call: (c: RedisConnection) => Promise<T>): Promise<T> {
    if (this.replicas === 0) return this.run(operation, call);
    return this.runOn(this.invalidator, operation, async (c) => {
      const result = await call(c);
      await this.replicated(c, operation, keys);
      return result;
    });
  }

  /** WAITs for the replicas on the nodes `keys` name; too few acknowledgements reject. */
  async replicated(c: RedisConnection, operation: string, keys: readonly string[]): Promise<void> {
    const acked = await c.waitReplicas(keys, this.replicas, this.#replicaTimeoutMs);
    if (acked < this.replicas) throw new ReplicationTimeoutError(operation, acked, this.replicas, this.#replicaTimeoutMs);
  }

  /**
   * Calls made right after the cache was created, while the very first connection is still being
   * set up, wait for it up to the command deadline (`createCache(...)` then `await cache.set(...)`
   * just works). After that, a connection that is reconnecting is not waited for.
   */
  firstConnect(operation: string, c: RedisConnection = this.connection): Promise<void> {
    return c.firstReady(this.#firstConnectWaitMs).catch((err: unknown) => {
      throw new RedisUnavailableError(`Redis ${operation} skipped: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  /** The masters, once the first connection is up. */
  masters(): Promise<readonly MasterHandle[]> {
    return this.connection.isReady ? Promise.resolve(this.connection.masters()) : this.firstConnect('SCAN').then(() => this.connection.masters());
  }
}
