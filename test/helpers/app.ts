/**
 * The whole backend in-process for HTTP tests: a fresh migrated database (real PostgreSQL in
 * its own schema when DATABASE_URL is set, in-memory PGlite otherwise) seeded with a small
 * data set, a cache on a throwaway redis-server (never 127.0.0.1:6379), and `buildApp(deps)`
 * driven with `app.inject()`. Build one per test FILE: PGlite takes seconds to start.
 *
 * `redis` is a second, raw node-redis client on the same server, for checking keys directly
 * (`keyExists('user:1:profile')` adds the file's prefix).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { createClient } from 'redis';
import { createCache, type Cache, type Clock, type NodeRedisClient } from '../../src/cache/index.ts';
import { buildApp, type App } from '../../src/app/app.ts';
import { loadConfig, type AppConfig } from '../../src/app/config.ts';
import type { Database, DbTx } from '../../src/app/db/database.ts';
import { DEMO_USER, LOADTEST_PASSWORD, seedDatabase } from '../../src/app/db/seed.ts';
import { createSqlData } from '../../src/app/db/sql-data.ts';
import type { AppDeps } from '../../src/app/deps.ts';
import { CacheAccess } from '../../src/app/http/cache-access.ts';
import { AppMetrics } from '../../src/app/http/metrics.ts';
import { createTestDatabase } from './db.ts';
import { startRedisServer, type TestRedisServer } from './redis-server.ts';

export interface TestAppOptions {
  /** Users in the seed (default 250: 5 guilds, 13 chats, 50 jobs). */
  users?: number;
  /** Config overrides on top of the test defaults. */
  config?: Partial<AppConfig>;
  /** The cache's clock (a ManualClock lets a test move past TTLs without waiting). */
  clock?: Clock;
  /** A pino logger for the app (default: none), e.g. one writing to memory to check the log. */
  logger?: FastifyBaseLogger;
}

export interface TestApp {
  app: App;
  deps: AppDeps;
  db: Database;
  config: AppConfig;
  redisServer: TestRedisServer;
  /** Raw client on the cache's Redis, for direct checks. */
  redis: NodeRedisClient;
  /** The cache key prefix of this app (unique per call). */
  prefix: string;
  cache(): Cache;
  /** True when `key` (without prefix) is in Redis now. */
  keyExists(key: string): Promise<boolean>;
  /** Every key (without prefix) matching a glob, sorted. */
  keys(pattern: string): Promise<string[]>;
  /**
   * Statements the app has sent so far whose SQL matches `pattern` (the database is real; this
   * only records the SQL on its way through), e.g. `/FROM sessions WHERE token_hash/`.
   */
  queryCount(pattern: RegExp): number;
  /** Logs in and returns the bearer token. */
  login(email: string, password: string): Promise<string>;
  /** Logs in seeded user `id` (user 1 is the demo account). */
  loginAs(id: number): Promise<string>;
  close(): Promise<void>;
}

export function emailOf(id: number): string {
  return id === DEMO_USER.id ? DEMO_USER.email : `user${id}@example.com`;
}

export function passwordOf(id: number): string {
  return id === DEMO_USER.id ? DEMO_USER.password : LOADTEST_PASSWORD;
}

/** `Authorization` header for a token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** The same database, recording the SQL of every statement (inside transactions too). */
function recordingDatabase(db: Database, log: string[]): Database {
  const recording = (tx: DbTx): DbTx => ({
    query: (sql, params, qopts) => {
      log.push(sql);
      return tx.query(sql, params, qopts);
    },
    execScript: (sql: string) => tx.execScript(sql),
  });
  return {
    kind: db.kind,
    query: (sql, params, qopts) => {
      log.push(sql);
      return db.query(sql, params, qopts);
    },
    execScript: (sql) => db.execScript(sql),
    transaction: (fn) => db.transaction((tx) => fn(recording(tx))),
    readStats: () => db.readStats(),
    close: () => db.close(),
  };
}

export async function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const config: AppConfig = {
    ...loadConfig({ NODE_ENV: 'test' }),
    // Many tests log in and write from 127.0.0.1 as the same users: the rate-limit tests set
    // their own limits.
    loginRateLimitPerIp: 10_000,
    loginRateLimitPerAccount: 10_000,
    loginLockoutAfterFailures: 10_000,
    authFailureLimitPerIp: 10_000,
    writeRateLimitPerUser: 10_000,
    redisCommandTimeoutMs: 300,
    ...opts.config,
  };
  const prefix = `t${randomBytes(4).toString('hex')}:`;
  const redisServer = await startRedisServer();
  const client: NodeRedisClient = createClient({ url: redisServer.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 100 } });
  client.on('error', () => undefined);
  await client.connect();
  const raw: NodeRedisClient = createClient({ url: redisServer.url, socket: { reconnectStrategy: () => 100 } });
  raw.on('error', () => undefined);
  await raw.connect();

  const rawDb = await createTestDatabase();
  await seedDatabase(rawDb, { users: opts.users ?? 250 });
  const sqlLog: string[] = [];
  const db = recordingDatabase(rawDb, sqlLog);

  const metrics = new AppMetrics();
  const cache = createCache({ redis: client, prefix, commandTimeoutMs: config.redisCommandTimeoutMs, ...(opts.clock === undefined ? {} : { clock: opts.clock }) });
  const cacheAccess = new CacheAccess({
    cache,
    enabled: config.cacheEnabled,
    fallbackConcurrency: config.dbFallbackConcurrency,
    isRedisHealthy: () => client.isReady,
  });
  const deps: AppDeps = {
    config,
    data: createSqlData(db),
    cacheAccess,
    metrics,
    redisStatus: () => ({ mode: 'redis', state: client.isReady ? 'ready' : 'reconnecting', healthy: client.isReady, reconnectAttempts: 0, totalReconnectAttempts: 0, url: redisServer.url }),
    lifecycle: { startedAtMs: Date.now(), warmed: true, shuttingDown: false },
  };
  const app = await buildApp(deps, opts.logger === undefined ? {} : { logger: opts.logger });

  const login = async (email: string, password: string): Promise<string> => {
    const res = await app.inject({ method: 'POST', url: '/sessions', payload: { email, password } });
    if (res.statusCode !== 201) throw new Error(`log-in of ${email} failed: ${res.statusCode} ${res.body}`);
    return (res.json<{ token: string }>()).token;
  };

  return {
    app,
    deps,
    db,
    config,
    redisServer,
    redis: raw,
    prefix,
    cache: () => cacheAccess.cache,
    keyExists: async (key) => (await raw.exists(prefix + key)) === 1,
    keys: async (pattern) => (await raw.keys(prefix + pattern)).map((k) => k.slice(prefix.length)).sort(),
    queryCount: (pattern) => sqlLog.filter((sql) => pattern.test(sql)).length,
    login,
    loginAs: (id) => login(emailOf(id), passwordOf(id)),
    async close() {
      await app.close();
      cacheAccess.close();
      await cacheAccess.cache.close();
      if (client.isOpen) await client.close().catch(() => client.destroy());
      if (raw.isOpen) await raw.close().catch(() => raw.destroy());
      await db.close();
      await redisServer.stop();
    },
  };
}
