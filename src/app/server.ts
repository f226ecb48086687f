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
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { createCache, type Cache } from '../cache/index.ts';
import { buildApp, type App } from './app.ts';
import { L1_NAMESPACES, l1CacheOptions } from './cache-policy.ts';
import { ConfigError, describeRedisTarget, loadConfig, loadDotEnv, maskUrl, type AppConfig } from './config.ts';
import { createDatabase, SeedError, type Database } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { seedDatabase } from './db/seed.ts';
import { createSqlData } from './db/sql-data.ts';
import { connectFirestore } from './db/firestore/connection.ts';
import { createFirestoreData } from './db/firestore/data.ts';
import { refs } from './db/firestore/model.ts';
import { FirestoreSeedRefusedError, SEED_DOMAIN, seedFirestore } from './db/firestore/seed.ts';
import type { AppData } from './data.ts';
import type { AppDeps, Lifecycle, RedisStatus } from './deps.ts';
import { CacheAccess } from './http/cache-access.ts';
import { loggerOptions } from './http/logging.ts';
import { AppMetrics } from './http/metrics.ts';
import { connectRedis, RedisBootError, type RedisConnection } from './redis/index.ts';
import { warmCache } from './warm.ts';

/**
 * PGlite is one process's database: a second server opening the same folder would corrupt it.
 * A lock file holding the owner's pid keeps it out; a lock left by a dead process is taken over.
 */
function lockDataDir(dir: string, logger: Logger): () => void {
  if (dir.startsWith('memory://')) return () => {};
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '..', `${basename(dir)}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => rmSync(lock, { force: true });
    } catch {
      const owner = Number(readFileSync(lock, 'utf8'));
      let alive = false;
      try {
        alive = Number.isInteger(owner) && owner > 0 && process.kill(owner, 0);
      } catch {
        alive = false;
      }
      if (alive) fail(logger, `${dir} is in use by another server (pid ${owner}); stop it or set PGLITE_DATA_DIR`);
      rmSync(lock, { force: true });
    }
  }
  return fail(logger, `cannot lock ${dir}`);
}

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

/** PostgreSQL or PGlite: connect, migrate, seed the demo set on an empty database. */
async function openSql(config: AppConfig, logger: Logger): Promise<AppData> {
  const releaseLock = config.databaseUrl === undefined ? lockDataDir(config.pgliteDataDir, logger) : () => {};
  process.on('exit', releaseLock);
  try {
    const db: Database = await createDatabase({ url: config.databaseUrl, pgliteDataDir: config.pgliteDataDir, poolSize: config.databasePoolSize, queryDelayMs: config.dbQueryDelayMs, ...(config.databaseSchema === undefined ? {} : { schema: config.databaseSchema }) });
    await migrate(db);
    if (config.seedDemo) {
      const { rows } = await db.query<{ seeded: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS seeded');
      if (rows[0]?.seeded !== true) {
        logger.info('empty database: seeding the demo data set (1,000 users; log in as demo@example.com / demo1234)');
        await seedDatabase(db, { users: 1000 }).catch((err: unknown) => {
          // Another instance starting on the same empty database seeded it first: fine.
          if (!(err instanceof SeedError)) throw err;
          logger.info('demo data already seeded by another instance');
        });
      }
    }
    return createSqlData(db);
  } catch (err) {
    return fail(logger, `database unavailable: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Longest the boot probe of Firestore may take: the client retries unreachable hosts for minutes. */
const FIRESTORE_BOOT_TIMEOUT_MS = 20_000;

/**
 * Firestore (`DATABASE_URL=firestore://<project>`): no migrations (schemaless; the composite
 * indexes are in firestore.indexes.json) and no data-folder lock (the service is shared by
 * design). One probe read proves the project answers before the server listens; on an empty
 * project with SEED_DEMO the 1,000-user demo set is written, as on PGlite.
 */
async function openFirestore(config: AppConfig, logger: Logger): Promise<AppData> {
  const url = config.databaseUrl ?? '';
  const conn = connectFirestore(url, config.firestoreEmulatorHost === undefined ? {} : { emulatorHost: config.firestoreEmulatorHost });
  const target = conn.emulatorHost === undefined ? 'Google (Application Default Credentials)' : `the emulator at ${conn.emulatorHost}`;
  logger.info({ projectId: conn.projectId, emulator: conn.emulatorHost ?? null }, `Firestore: project ${conn.projectId} on ${target}`);
  const data = createFirestoreData(conn);
  try {
    const probe = data.bill.query(SEED_DOMAIN, refs(conn.firestore).users().limit(1));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${FIRESTORE_BOOT_TIMEOUT_MS} ms`)), FIRESTORE_BOOT_TIMEOUT_MS);
    });
    const existing = await Promise.race([probe, timeout]).finally(() => clearTimeout(timer));
    if (config.seedDemo && existing.empty) {
      logger.info('empty Firestore project: seeding the demo data set (1,000 users; log in as demo@example.com / demo1234)');
      await seedFirestore(conn.firestore, data.bill, {
        users: 1000,
        // The client's 500/50/5 ramp-up protects a real project's new collections; the emulator
        // has nothing to protect and would only be slowed down.
        ...(conn.emulatorHost === undefined ? {} : { throttling: false }),
      }).catch((err: unknown) => {
        // Another instance starting on the same empty project seeded it (or is seeding it) first.
        if (!(err instanceof FirestoreSeedRefusedError) || err.reason === 'bad_options') throw err;
        logger.info('demo data already seeded by another instance');
      });
    }
    return data;
  } catch (err) {
    await conn.close().catch(() => undefined);
    return fail(logger, `Firestore unavailable (project ${conn.projectId} on ${target}): ${err instanceof Error ? err.message : String(err)}`);
  }
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
  const makeCache = (conn: RedisConnection | undefined): Cache =>
    createCache({
      ...(conn === undefined ? {} : { redis: conn.client }),
      prefix: config.cachePrefix,
      commandTimeoutMs: config.redisCommandTimeoutMs,
      // A deleted value must not come back with a failover: unconfirmed invalidations reject and
      // stay in the outbox (http/cache-access.ts) until a replica has them.
      invalidationReplicas: config.redisInvalidationReplicas,
      invalidationReplicaTimeoutMs: Math.max(1, Math.min(100, Math.floor(config.redisCommandTimeoutMs / 2))),
      // CACHE_L1: config.ts has refused it on Cluster and Sentinel; the memory store ignores it.
      l1: l1CacheOptions(config),
      logger: cacheLogger,
      onError: () => onCacheError.notify(),
    });
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

  const data = config.databaseKind === 'firestore' ? await openFirestore(config, logger) : await openSql(config, logger);

  const redisStatus = (): RedisStatus => {
    const conn = redis;
    const url = describeRedisTarget(config.redis);
    if (conn === undefined) return { mode: 'memory', topology: 'memory', state: 'memory', healthy: true, reconnectAttempts: 0, totalReconnectAttempts: 0, url, nodes: [] };
    return { mode: 'redis', topology: conn.topology, state: conn.state, healthy: conn.healthy, reconnectAttempts: conn.reconnectAttempts, totalReconnectAttempts: conn.totalReconnectAttempts, url, nodes: conn.nodes() };
  };
  const deps: AppDeps = { config, data, cacheAccess: access, metrics, redisStatus, lifecycle };
  const app: App = await buildApp(deps, { logger });

  let stopping = false;
  /** Stop accepting, finish in-flight requests, close Redis and the database, exit with `exitCode`. */
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
