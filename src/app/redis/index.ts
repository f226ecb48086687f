/**
 * The Redis policy: mandatory in production, optional in development, never hanging; the same on
 * one Redis (single.ts), Redis Cluster (cluster.ts) and Sentinel (sentinel.ts).
 *
 * - Boot: connect and prove Redis serves within REDIS_CONNECT_TIMEOUT_MS, retrying transient
 *   failures inside that window and giving up at once on ones that will not heal by retrying
 *   (authentication, TLS). The failure is classified (boot-errors.ts) so the operator reads which
 *   of them it was, and where.
 * - Running: node-redis reconnects with `min(attempt × 100, 3000)` ms ± 20 % jitter. Once the
 *   connection is lost (one Redis: its socket; a cluster: no master connected or
 *   `cluster_state` not ok; Sentinel: no master connection) the bounded reconnect window runs
 *   (policy.ts, `reconnectWindow`, 21 s nominal for 20 attempts); at its end `onGiveUp` runs
 *   (production: stop accepting, finish in-flight requests, exit 1). One cluster master failing
 *   over is not a loss: readiness is off until its replica serves, and nothing exits.
 * - A monitor PINGs every second under the command deadline, so a frozen server (socket open,
 *   nothing answering) turns readiness off even though the client still looks connected.
 */
import type { AppConfig, RedisTarget } from '../config.ts';
import { connectCluster } from './cluster.ts';
import type { PolicyLogger, RedisConnection, RedisPolicyHooks } from './policy.ts';
import { connectSentinel } from './sentinel.ts';
export { sentinelNodeClient } from './sentinel.ts';
import { connectSingle } from './single.ts';

export { classifyBootFailure, RedisBootError, type BootFailureKind } from './boot-errors.ts';
export type { PolicyLogger, RedisConnection, RedisConnectionState, RedisNodeHealth, RedisNodeStatus, RedisPolicyHooks, RedisTopologyKind } from './policy.ts';

/**
 * Connects under the boot deadline. Resolves a live connection (reconnecting by the running
 * policy from then on) or rejects with a classified RedisBootError, leaving nothing open.
 */
export function connectRedis(
  config: AppConfig,
  target: RedisTarget,
  logger: PolicyLogger,
  hooks: RedisPolicyHooks = {},
  /** Failed reconnect attempts before giving up (the window's length); Infinity never gives up (development). */
  maxReconnectAttempts: number = config.redisReconnectMaxAttempts,
): Promise<RedisConnection> {
  switch (target.kind) {
    case 'single':
      return connectSingle(config, target, logger, hooks, maxReconnectAttempts);
    case 'cluster':
      return connectCluster(config, target, logger, hooks, maxReconnectAttempts);
    case 'sentinel':
      return connectSentinel(config, target, logger, hooks, maxReconnectAttempts);
  }
}
