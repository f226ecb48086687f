/**
 * The process: configuration, logger, start-up order, signals and exit codes.
 *
 * Start-up order: config → Redis (policy in redis/: one Redis, Cluster or Sentinel) →
 * database + migrations (+ demo seed; on Firestore a probe read instead of migrations) →
 * HTTP listening (liveness answers) → cache warming → ready.
 * Exit codes: 0 after a clean shutdown; 1 for bad configuration, Redis unavailable in
 * production (at boot, or after the reconnect window), a shutdown past SHUTDOWN_TIMEOUT_MS,
 * a second signal, or a crash.
 */
import { pino, type Logger } from 'pino';
import { createCache, type Cache, type CacheErrorEvent } from '../cache/index.ts';
import { buildApp, type App } from './app.ts';
import { L1_NAMESPACES, l1CacheOptions } from './cache-policy.ts';
import { cacheOptionsFor, redisStatusOf } from './cache-setup.ts';
import { openData } from './open-data.ts';
import { RecentErrors } from './dashboard/recent-errors.ts';
import { ConfigError, describeRedisTarget, loadConfig, loadDotEnv, maskUrl, type AppConfig } from './config.ts';
import type { AppDeps, Lifecycle, RedisStatus } from './deps.ts';
import { CacheAccess } from './http/cache-access.ts';
import { loggerOptions } from './http/logging.ts';
import { AppMetrics } from './http/metrics.ts';
import { connectRedis, RedisBootError, sentinelNodeClient, type RedisConnection } from './redis/index.ts';
import { flushTraces, TRACE_FLUSH_TIMEOUT_MS } from './trace-flush.ts';
import { warmCache } from './warm.ts';

function fail(logger: Logger, message: string, obj: object = {}): never {
  logger.fatal(obj, message);
  process.exit(1);
}

/** What production does when the reconnect window runs out; graceful once the HTTP server exists. */
interface RedisLostHandler {
  run(attempts: number, detail: string): void;
}

async function openRedis(config: AppConfig, logger: Logger, onLost: RedisLostHandler): Promise<RedisConnection | undefined> {
  const target = config.redis;
  if (target === undefined) {
    logger.warn('REDIS_URL is not set (nor REDIS_CLUSTER_NODES or REDIS_SENTINELS): caching in process memory (development only)');
    return undefined;
  }
  const where = { redis: describeRedisTarget(target), topology: target.kind };
  const hooks = {
    onGiveUp: (attempts: number, detail: string) => {
      if (config.nodeEnv === 'production') onLost.run(attempts, detail);
    },
  };
  if (config.nodeEnv === 'production') {
    try {
      const conn = await connectRedis(config, target, logger, hooks);
      logger.info({ ...where, nodes: conn.nodes() }, 'Redis connected (mandatory in production)');
      return conn;
    } catch (err) {
      const kind = err instanceof RedisBootError ? err.kind : 'other';
      return fail(logger, `Redis is required in production and is unavailable: ${err instanceof Error ? err.message : String(err)}`, { kind });
    }
  }
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const conn = await connectRedis(config, target, logger, hooks, Number.POSITIVE_INFINITY);
      logger.info(where, 'Redis connected');
      return conn;
    } catch (err) {
      logger.info({ attempt, reason: err instanceof Error ? err.message : String(err) }, 'Redis connection attempt failed');
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  loadDotEnv();
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    const bootLogger = pino({ base: undefined });
    if (err instanceof ConfigError) {
      for (const p of err.problems) bootLogger.fatal({ code: err.code }, p);
      process.exit(1);
    }
    throw err;
  }
  const logger = pino(loggerOptions(config.logLevel));
  process.on('uncaughtException', (err) => fail(logger, 'uncaught exception', { err }));
  process.on('unhandledRejection', (err) => fail(logger, 'unhandled rejection', { err }));
  logger.info({ nodeEnv: config.nodeEnv, redis: describeRedisTarget(config.redis) ?? 'none', redisTopology: config.redis?.kind ?? 'memory', database: maskUrl(config.databaseUrl) ?? `pglite:${config.pgliteDataDir}`, databaseKind: config.databaseKind }, 'starting');

  const metrics = new AppMetrics();
  const lifecycle: Lifecycle = { startedAtMs: Date.now(), warmed: !config.cacheWarm, shuttingDown: false };

  const redisLostMessage = (attempts: number, detail: string): string => `Redis lost: ${attempts} reconnect attempts failed (${detail}); exiting so the process manager restarts this instance`;
  // Before the HTTP server exists there is nothing to drain: exit at once.
  const onRedisLost: RedisLostHandler = { run: (attempts, detail) => fail(logger, redisLostMessage(attempts, detail), { attempts }) };
  let redis = await openRedis(config, logger, onRedisLost);
  const cacheLogger = logger.child({ component: 'cache' });
  const onCacheError = { notify: (): void => {} };
  // The dashboard's "last errors": every failure, secrets removed (dashboard/recent-errors.ts).
  const recentErrors = new RecentErrors();
  const onError = (event: CacheErrorEvent): void => {
    recentErrors.record(event);
    onCacheError.notify();
  };
  // CACHE_L1, on every topology (the memory store ignores it). The server's own: the CLI shares
  // cacheOptionsFor and has no use for an in-process tier. Through Sentinel the channel to the
  // master needs the data nodes' options, which node-redis keeps private in its client.
  const l1 = l1CacheOptions(config);
  const l1Options = l1 !== false && config.redis?.kind === 'sentinel' ? { ...l1, sentinelNodeClient: sentinelNodeClient(config, config.redis) } : l1;
  // Traces need no option here: the cache's spans go to the global OpenTelemetry provider, which
  // an SDK loaded with `node --import` registers (README, "Turning traces on in the backend").
  const makeCache = (conn: RedisConnection | undefined): Cache => createCache({ ...cacheOptionsFor(config, conn, cacheLogger, onError), l1: l1Options });
  if (config.cacheL1) {
    if (redis === undefined) logger.warn('CACHE_L1=true has no effect while the cache runs on the in-memory store (no Redis): there is no other writer to hear about');
    else logger.info({ namespaces: [...L1_NAMESPACES], maxEntries: config.cacheL1MaxEntries, maxBytes: config.cacheL1MaxBytes }, 'in-process tier (L1) on');
  }
  const access = new CacheAccess({
    cache: makeCache(redis),
    enabled: config.cacheEnabled,
    fallbackConcurrency: config.dbFallbackConcurrency,
    isRedisHealthy: () => redis === undefined || redis.healthy,
    metrics: { onFallback: () => metrics.fallbacks.inc(), onFallbackRejected: () => metrics.fallbackRejected.inc() },
    l1Namespaces: config.cacheL1 ? L1_NAMESPACES : undefined,
  });
  onCacheError.notify = () => access.noteCacheError();

  // Development with REDIS_URL set but unreachable: run on memory, keep trying in the background.
  let retryTimer: NodeJS.Timeout | undefined;
  if (redis === undefined && config.redis !== undefined) {
    const target = config.redis;
    logger.warn({ redis: describeRedisTarget(target) }, 'running without Redis (development only)');
    const retry = (): void => {
      retryTimer = setTimeout(() => {
        connectRedis(config, target, logger, {}, Number.POSITIVE_INFINITY).then(
          (conn) => {
            if (lifecycle.shuttingDown) return void conn.close();
            redis = conn;
            const old = access.replaceCache(makeCache(conn), () => conn.healthy);
            void old.close();
            logger.info({ redis: describeRedisTarget(target) }, 'Redis is reachable again: cache moved to Redis');
          },
          () => retry(),
        );
      }, 5000);
      retryTimer.unref();
    };
    retry();
  }

  const data = await openData(config, logger, { seed: config.seedDemo }).catch((err: unknown) => fail(logger, err instanceof Error ? err.message : String(err)));

  const redisStatus = (): RedisStatus => redisStatusOf(config, redis);
  const deps: AppDeps = { config, data, cacheAccess: access, metrics, recentErrors, redisStatus, lifecycle };
  const app: App = await buildApp(deps, { logger });

  let stopping = false;
  /** Stop accepting, finish in-flight requests, close Redis and the database, export the spans held, exit with `exitCode`. */
  const shutdown = async (signal: string, exitCode: 0 | 1 = 0): Promise<void> => {
    if (stopping) {
      if (exitCode === 0) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      return;
    }
    stopping = true;
    lifecycle.shuttingDown = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => fail(logger, `shutdown took longer than SHUTDOWN_TIMEOUT_MS=${config.shutdownTimeoutMs}`), config.shutdownTimeoutMs);
    force.unref();
    clearTimeout(retryTimer);
    await app.close();
    access.close();
    await access.cache.close();
    await redis?.close();
    await data.close();
    // Last, so the spans of everything above are in what is exported.
    const traces = await flushTraces();
    if (traces === 'timed-out') logger.warn({ timeoutMs: TRACE_FLUSH_TIMEOUT_MS }, 'trace export did not finish in time: the last spans may be lost');
    else if (typeof traces === 'object') logger.warn({ err: traces.failed }, 'trace export failed: the last spans may be lost');
    logger.info('shutdown complete');
    process.exit(exitCode);
  };
  process.on('SIGTERM', (s) => void shutdown(s));
  process.on('SIGINT', (s) => void shutdown(s));
  onRedisLost.run = (attempts, detail) => {
    logger.fatal({ attempts }, redisLostMessage(attempts, detail));
    void shutdown('redis-lost', 1);
  };

  await app.listen({ host: config.host, port: config.port });
  if (config.cacheWarm && config.cacheEnabled) {
    await warmCache(deps, logger, config.cacheWarmTimeoutMs);
  }
  lifecycle.warmed = true;
  logger.info('ready');
}

void main();
