/** What buildApp needs; server.ts (or a test) builds it. */
import type { AppConfig } from './config.ts';
import type { AppData } from './data.ts';
import type { RecentErrors } from './dashboard/recent-errors.ts';
import type { CacheAccess } from './http/cache-access.ts';
import type { AppMetrics } from './http/metrics.ts';
import type { RedisConnectionState, RedisNodeStatus, RedisTopologyKind } from './redis/index.ts';

export interface RedisStatus {
  /** `redis` when a Redis client backs the cache; `memory` on the development in-memory store. */
  mode: 'redis' | 'memory';
  /** `single` (REDIS_URL), `cluster` (REDIS_CLUSTER_NODES), `sentinel` (REDIS_SENTINELS); `memory` without Redis. */
  topology: RedisTopologyKind | 'memory';
  state: RedisConnectionState | 'memory';
  healthy: boolean;
  reconnectAttempts: number;
  /** Failed reconnect attempts over the connection's life (the metric). */
  totalReconnectAttempts: number;
  /** Where Redis is (a URL, the cluster's root nodes, `sentinel://…/<name>`), masked: never a password. */
  url: string | undefined;
  /** Every node known and its state (addresses only); empty on the memory store. */
  nodes: RedisNodeStatus[];
}

export interface Lifecycle {
  startedAtMs: number;
  /** False until cache warming (when enabled) has finished. */
  warmed: boolean;
  shuttingDown: boolean;
}

export interface AppDeps {
  config: AppConfig;
  /** The data ports (data.ts); the database behind them is not the services' business. */
  data: AppData;
  cacheAccess: CacheAccess;
  metrics: AppMetrics;
  /** The last cache and Redis failures, secrets removed, for the dashboard (fed by the cache's onError). */
  recentErrors: RecentErrors;
  redisStatus(): RedisStatus;
  lifecycle: Lifecycle;
}
