/** What buildApp needs; server.ts (or a test) builds it. */
import type { AppConfig } from './config.ts';
import type { AppData } from './data.ts';
import type { CacheAccess } from './http/cache-access.ts';
import type { AppMetrics } from './http/metrics.ts';

export interface RedisStatus {
  /** `redis` when a Redis client backs the cache; `memory` on the development in-memory store. */
  mode: 'redis' | 'memory';
  state: 'ready' | 'reconnecting' | 'unresponsive' | 'closed' | 'memory';
  healthy: boolean;
  reconnectAttempts: number;
  /** Failed reconnect attempts over the connection's life (the metric). */
  totalReconnectAttempts: number;
  /** Masked: never holds the password. */
  url: string | undefined;
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
  redisStatus(): RedisStatus;
  lifecycle: Lifecycle;
}
