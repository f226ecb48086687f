/**
 * Which Redis, and how to reach it: the server's own configuration (src/app/config.ts, `.env`
 * included) with `--redis` and `--prefix` on top, connected by the server's own code
 * (src/app/redis/: boot deadline, classified failures, one Redis, Cluster or Sentinel) and
 * wrapped in the cache the server builds on it (src/app/cache-setup.ts). The CLI therefore sees the
 * keys the server writes, under the same prefix, and its invalidations WAIT for replicas as
 * the server's do (REDIS_INVALIDATION_REPLICAS).
 */
import { pino, type Logger } from 'pino';
import { createCache, type Cache, type CacheErrorEvent, type CacheOptions } from '../cache/index.ts';
import { cacheOptionsFor } from '../app/cache-setup.ts';
import { describeRedisTarget, loadConfig, loadDotEnv, type AppConfig } from '../app/config.ts';
import { connectRedis, type RedisConnection } from '../app/redis/index.ts';
import { CliError } from './errors.ts';

/** Variables `--redis` replaces: the other two ways of naming Redis and their Sentinel-only companions. */
const REDIS_VARIABLES = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS', 'REDIS_SENTINEL_MASTER', 'REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_SENTINEL_PASSWORD', 'REDIS_SENTINEL_TLS'];

export interface ConnectionFlags {
  redis?: string | undefined;
  prefix?: string | undefined;
}

/** The server's configuration from the environment (and `.env`), with the flags on top. */
export function cliConfig(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): AppConfig {
  if (env === process.env) loadDotEnv();
  const merged: Record<string, string | undefined> = { ...env };
  if (flags.redis !== undefined) {
    for (const v of REDIS_VARIABLES) delete merged[v];
    merged['REDIS_URL'] = flags.redis;
  }
  if (flags.prefix !== undefined) merged['CACHE_PREFIX'] = flags.prefix;
  return loadConfig(merged);
}

/** A logger for the code the CLI shares with the server: silent unless --verbose, then JSON lines on stderr. */
export function cliLogger(verbose: boolean): Logger {
  return pino({ level: verbose ? 'debug' : 'silent', base: undefined }, pino.destination({ dest: 2, sync: true }));
}

export interface OpenCache {
  cache: Cache;
  config: AppConfig;
  /** Where Redis is, safe to print (passwords masked). */
  where: string;
  topology: RedisConnection['topology'];
  /** The server's connection object (state, health, nodes), for code that takes the server's deps. */
  connection: RedisConnection;
  /**
   * Failures the cache answered without throwing (a read that fell back, a write behind a miss
   * that did not land), counted and the first few kept: `warm` reports them, since a warmer
   * counts a key it fetched whether or not its write reached Redis.
   */
  failures: { count: number; first: CacheErrorEvent[] };
  close(): Promise<void>;
}

/** The server's Redis, connected under REDIS_CONNECT_TIMEOUT_MS, and the server's cache on it. */
export async function openCache(config: AppConfig, logger: Logger, tuning: Pick<CacheOptions, 'scanBatchSize'> = {}): Promise<OpenCache> {
  const target = config.redis;
  if (target === undefined) {
    throw new CliError('E_CLI_CONFIG', 'no Redis to act on: set REDIS_URL (or REDIS_CLUSTER_NODES, or REDIS_SENTINELS with REDIS_SENTINEL_MASTER), or pass --redis redis://host:port');
  }
  // A short-lived process: lost mid-command, the command fails (no offline queue) and is rerun,
  // rather than sitting out the server's reconnect window.
  const conn = await connectRedis(config, target, logger, {}, 1);
  const failures: OpenCache['failures'] = { count: 0, first: [] };
  const cache = createCache({
    ...cacheOptionsFor(config, conn, logger, (event) => {
      failures.count++;
      if (failures.first.length < 3) failures.first.push(event);
    }),
    ...tuning,
  });
  return {
    cache,
    config,
    where: describeRedisTarget(target) ?? '',
    topology: conn.topology,
    connection: conn,
    failures,
    async close() {
      await cache.close();
      await conn.close();
    },
  };
}
