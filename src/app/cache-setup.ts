/**
 * The cache the server builds on its Redis connection, and the Redis status /health reports:
 * shared with the operator CLI (src/cli/connection.ts), whose cache is then the server's, with
 * the same prefix, deadlines and replica waits. Kept apart from the database code so the CLI's
 * Redis commands do not load the database drivers.
 */
import type { CacheOptions } from '../cache/index.ts';
import { describeRedisTarget, type AppConfig } from './config.ts';
import type { RedisStatus } from './deps.ts';
import type { RedisConnection } from './redis/index.ts';

/** The cache the server runs, on its Redis connection (or the memory store without one). */
export function cacheOptionsFor(config: AppConfig, conn: RedisConnection | undefined, logger: CacheOptions['logger'], onError?: CacheOptions['onError']): CacheOptions {
  return {
    ...(conn === undefined ? {} : { redis: conn.client }),
    prefix: config.cachePrefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    // A deleted value must not come back with a failover: unconfirmed invalidations reject and
    // stay in the outbox (http/cache-access.ts) until a replica has them.
    invalidationReplicas: config.redisInvalidationReplicas,
    invalidationReplicaTimeoutMs: Math.max(1, Math.min(100, Math.floor(config.redisCommandTimeoutMs / 2))),
    ...(logger === undefined ? {} : { logger }),
    ...(onError === undefined ? {} : { onError }),
  };
}

/** Redis as /health reports it: the connection's state and nodes, the target masked. */
export function redisStatusOf(config: AppConfig, conn: RedisConnection | undefined): RedisStatus {
  const url = describeRedisTarget(config.redis);
  if (conn === undefined) return { mode: 'memory', topology: 'memory', state: 'memory', healthy: true, reconnectAttempts: 0, totalReconnectAttempts: 0, url, nodes: [] };
  return { mode: 'redis', topology: conn.topology, state: conn.state, healthy: conn.healthy, reconnectAttempts: conn.reconnectAttempts, totalReconnectAttempts: conn.totalReconnectAttempts, url, nodes: conn.nodes() };
}
