/**
 * The whole backend in-process for HTTP tests: a fresh database seeded with a small data set, a
 * cache on a throwaway redis-server (never 127.0.0.1:6379), and `buildApp(deps)` driven with
 * `app.inject()`. Build one per test FILE: PGlite takes seconds to start.
 *
 * Two databases (`database` option, default `sql`):
 *  - `sql`: a fresh migrated database (real PostgreSQL in its own schema when DATABASE_URL is
 *    set, in-memory PGlite otherwise), `seedDatabase`, `createSqlData`;
 *  - `firestore`: the official emulator, one per test file (started on first use, stopped by the
 *    `afterAll` that `describeEachDatabase` registers, or by `stopTestEmulator()`), a fresh
 *    project id per app, `seedFirestore` with the same user count, `createFirestoreData`.
 * `describeEachDatabase(name, fn)` runs one suite on both (TEST_DATABASES, below). Assert
 * through HTTP or the ports (`t.deps.data.<domain>`) so an assertion holds on both; `t.db` and
 * `queryCount` are SQL only and throw on Firestore.
 *
 * `shareWith: other` builds a second instance of the same backend: its own cache (connection,
 * in-process tier) and HTTP app on `other`'s redis-server, cache prefix and database, as two
 * servers behind a load balancer would be. Close it before `other`, which owns what they share.
 *
 * `redis` is a second, raw node-redis client on the same server, for checking keys directly
 * (`keyExists('user:1:profile')` adds the file's prefix). A miss answers before its write lands
 * (the write is queued on the cache's own connection), so `keyExists`, `keys` and `redisCalls`
 * first wait for the cache's pending writes (`cache.idle()`); a test reading `redis` itself right
 * after a request must do the same.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { createClient } from 'redis';
import { createCache, type Cache, type Clock, type NodeRedisClient } from '../../src/cache/index.ts';
import { buildApp, type App } from '../../src/app/app.ts';
import { L1_NAMESPACES, l1CacheOptions } from '../../src/app/cache-policy.ts';
import { loadConfig, type AppConfig } from '../../src/app/config.ts';
import type { Database, DbTx } from '../../src/app/db/database.ts';
import { DEMO_USER, LOADTEST_PASSWORD, seedDatabase } from '../../src/app/db/seed.ts';
import { createSqlData } from '../../src/app/db/sql-data.ts';
import type { AppDeps } from '../../src/app/deps.ts';
import { CacheAccess } from '../../src/app/http/cache-access.ts';
import { AppMetrics } from '../../src/app/http/metrics.ts';
import { RecentErrors } from '../../src/app/dashboard/recent-errors.ts';
import { afterAll, describe } from 'vitest';
import { connectFirestore, type FirestoreConnection } from '../../src/app/db/firestore/connection.ts';
import { createFirestoreContext } from '../../src/app/db/firestore/context.ts';
import { createFirestoreData } from '../../src/app/db/firestore/data.ts';
import { refs } from '../../src/app/db/firestore/model.ts';
import type { LedgerType } from '../../src/app/wallets/wallets.data.ts';
import { LEDGER_SIGN } from '../../src/app/wallets/wallets.rules.ts';
import { seedFirestore } from '../../src/app/db/firestore/seed.ts';
import { Timestamp, type Firestore } from '@google-cloud/firestore';
import type { AppData } from '../../src/app/data.ts';
import { createTestDatabase } from './db.ts';
import { describeFirestore, startFirestoreEmulator, type TestFirestoreEmulator } from './firestore-emulator.ts';
import { startRedisServer, type TestRedisServer } from './redis-server.ts';

/** The databases a domain suite runs on. */
export type TestDatabase = 'sql' | 'firestore';

/**
 * What `describeEachDatabase` runs: both by default; `TEST_DATABASES=sql` (or `firestore`, comma
 * separated) narrows it, e.g. to run the SQL variants alone on a machine without Java.
 */
export const TEST_DATABASES: readonly TestDatabase[] = (() => {
  const raw = process.env['TEST_DATABASES'];
  if (raw === undefined || raw.trim() === '') return ['sql', 'firestore'] as const;
  const picked = raw.split(',').map((s) => s.trim());
  for (const p of picked) if (p !== 'sql' && p !== 'firestore') throw new Error(`TEST_DATABASES: unknown database ${JSON.stringify(p)} (sql, firestore)`);
  return (['sql', 'firestore'] as const).filter((d) => picked.includes(d));
})();

let fileEmulator: Promise<TestFirestoreEmulator> | undefined;

/** This test file's emulator (vitest isolates modules per file), started on first use. */
function testEmulator(): Promise<TestFirestoreEmulator> {
  fileEmulator ??= startFirestoreEmulator().catch((err: unknown) => {
    fileEmulator = undefined;
    throw err;
  });
  return fileEmulator;
}

/** Stops this file's emulator if one was started; idempotent. */
export async function stopTestEmulator(): Promise<void> {
  const started = fileEmulator;
  fileEmulator = undefined;
  if (started !== undefined) await (await started.catch(() => undefined))?.stop();
}

/**
 * One suite, run once per database in TEST_DATABASES: `describe('<name> [sql]')` and
 * `describe('<name> [firestore]')`, each calling `fn(database)` (build the app in its beforeAll
 * with `createTestApp({ database })`). The Firestore variant goes through `describeFirestore`:
 * skipped with the emulator's message when it is missing, a failure with CI=true. It also
 * stops the file's emulator after the suite.
 */
export function describeEachDatabase(name: string, fn: (database: TestDatabase) => void): void {
  for (const database of TEST_DATABASES) {
    if (database === 'sql') {
      describe(`${name} [sql]`, () => fn('sql'));
    } else {
      describeFirestore(`${name} [firestore]`, () => {
        afterAll(() => stopTestEmulator(), 60_000);
        fn('firestore');
      });
    }
  }
}

/** `t.db` on Firestore: every call says the check is SQL only. */
function sqlOnly(what: string): never {
  throw new Error(`${what} is SQL only: on Firestore assert through HTTP or the ports (t.deps.data.<domain>)`);
}
const NO_SQL_DATABASE: Database = {
  get kind(): never {
    return sqlOnly('t.db.kind');
  },
  query: () => sqlOnly('t.db.query'),
  execScript: () => sqlOnly('t.db.execScript'),
  transaction: () => sqlOnly('t.db.transaction'),
  readStats: () => sqlOnly('t.db.readStats'),
  close: async () => {},
};

export interface TestAppOptions {
  /** Which database (default `sql`). */
  database?: TestDatabase;
  /** Users in the seed (default 250: 5 guilds, 13 chats, 50 jobs). */
  users?: number;
  /** Config overrides on top of the test defaults. */
  config?: Partial<AppConfig>;
  /** The cache's clock (a ManualClock lets a test move past TTLs without waiting). */
  clock?: Clock;
  /** A pino logger for the app (default: none), e.g. one writing to memory to check the log. */
  logger?: FastifyBaseLogger;
  /**
   * Another instance of the same backend: share its redis-server, cache prefix and database
   * (`database` and `users` are then taken from it). Closing this app leaves them open.
   */
  shareWith?: TestApp;
}

/**
 * Direct reads (and one write) for checks no port offers, on whichever database the app runs:
 * SQL through the unrecorded database, Firestore through the raw client (not billed).
 */
export interface TestInspect {
  /** A wallet's ledger, oldest first. */
  ledger(userId: number): Promise<Array<{ type: string; amount: number; jobId: number | null }>>;
  /** A user's score on a board, undefined without one. */
  score(userId: number, type: string): Promise<number | undefined>;
  /** Jobs stored. */
  jobCount(): Promise<number>;
  /** Every ledger entry of a job (all wallets), oldest first. */
  jobLedger(jobId: number): Promise<Array<{ userId: number; type: string; amount: number }>>;
  /** Sum of every wallet's balance plus every job's held reward (money cannot appear or vanish). */
  moneyInSystem(): Promise<bigint>;
  /** Wallets whose balance differs from the signed sum of their ledger. */
  ledgerMismatches(): Promise<number>;
  /** Sessions stored (live or expired). */
  sessionCount(): Promise<number>;
  /** True when a session is stored under this token hash (live or expired). */
  sessionExists(tokenHash: string): Promise<boolean>;
  /** The session's user and its remaining lifetime in seconds, undefined without one. */
  session(tokenHash: string): Promise<{ userId: number; ttlSeconds: number } | undefined>;
  /** Moves a session's expiry one second into the past. */
  expireSession(tokenHash: string): Promise<void>;
}

export interface TestApp {
  app: App;
  deps: AppDeps;
  /** Which database this app runs on. */
  database: TestDatabase;
  /** The SQL database (SQL only: on Firestore every call throws). */
  db: Database;
  /** Firestore only: the connection and project of this app (undefined on SQL). */
  firestore: { conn: FirestoreConnection; projectId: string; emulator: TestFirestoreEmulator } | undefined;
  /** Checks without a port, on either database. */
  inspect: TestInspect;
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
  /** How many times the cache's Redis has run a command so far (INFO commandstats), e.g. `scan`. */
  redisCalls(command: string): Promise<number>;
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

function sqlInspect(db: Database): TestInspect {
  const count = async (sql: string, params: unknown[] = []): Promise<number> => (await db.query<{ n: number }>(sql, params)).rows[0]?.n ?? 0;
  return {
    ledger: async (userId) =>
      (await db.query<{ type: string; amount: number; job_id: number | null }>('SELECT type, amount, job_id FROM wallet_transactions WHERE user_id = $1 ORDER BY id', [userId])).rows.map((r) => ({
        type: r.type,
        amount: Number(r.amount),
        jobId: r.job_id === null ? null : Number(r.job_id),
      })),
    score: async (userId, type) => {
      const row = (await db.query<{ score: number }>('SELECT score FROM scores WHERE user_id = $1 AND type = $2', [userId, type])).rows[0];
      return row === undefined ? undefined : Number(row.score);
    },
    jobCount: () => count('SELECT count(*)::int AS n FROM jobs'),
    jobLedger: async (jobId) =>
      (await db.query<{ user_id: number; type: string; amount: number }>('SELECT user_id, type, amount FROM wallet_transactions WHERE job_id = $1 ORDER BY id', [jobId])).rows.map((r) => ({
        userId: Number(r.user_id),
        type: r.type,
        amount: Number(r.amount),
      })),
    moneyInSystem: async () => {
      const { rows } = await db.query<{ total: string }>('SELECT ((SELECT COALESCE(sum(balance), 0) FROM wallets) + (SELECT COALESCE(sum(held), 0) FROM jobs))::text AS total');
      return BigInt(rows[0]?.total ?? '0');
    },
    ledgerMismatches: () =>
      count(
        `SELECT count(*)::int AS n FROM wallets w
          LEFT JOIN (SELECT user_id, sum(CASE WHEN type IN ('credit', 'release', 'reward', 'admin_credit') THEN amount ELSE -amount END) AS total
                       FROM wallet_transactions GROUP BY user_id) l ON l.user_id = w.user_id
          WHERE COALESCE(l.total, 0) <> w.balance`,
      ),
    sessionCount: () => count('SELECT count(*)::int AS n FROM sessions'),
    sessionExists: async (tokenHash) => (await count('SELECT count(*)::int AS n FROM sessions WHERE token_hash = $1', [tokenHash])) > 0,
    session: async (tokenHash) => {
      const row = (await db.query<{ user_id: number; ttl: number }>('SELECT user_id, EXTRACT(EPOCH FROM expires_at - now())::int AS ttl FROM sessions WHERE token_hash = $1', [tokenHash])).rows[0];
      return row === undefined ? undefined : { userId: Number(row.user_id), ttlSeconds: Number(row.ttl) };
    },
    expireSession: async (tokenHash) => {
      await db.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1", [tokenHash]);
    },
  };
}

function firestoreInspect(firestore: Firestore): TestInspect {
  const r = refs(firestore);
  return {
    ledger: async (userId) => (await r.ledger(userId).orderBy('id').get()).docs.map((d) => ({ type: d.data().type, amount: d.data().amount, jobId: d.data().jobId })),
    score: async (userId, type) => {
      if (type !== 'global' && type !== 'weekly') return undefined;
      const snap = await r.score(type, userId).get();
      return snap.data()?.score;
    },
    jobCount: async () => (await r.jobs().count().get()).data().count,
    jobLedger: async (jobId) => {
      // A collection-group query: the emulator needs no index for it (a check, not an app query).
      const snap = await firestore.collectionGroup('ledger').where('jobId', '==', jobId).get();
      return snap.docs
        .map((d) => d.data() as { id: number; userId: number; type: string; amount: number })
        .sort((a, b) => a.id - b.id)
        .map((e) => ({ userId: e.userId, type: e.type, amount: e.amount }));
    },
    moneyInSystem: async () => {
      const [wallets, jobs] = await Promise.all([r.wallets().get(), r.jobs().get()]);
      let total = 0n;
      for (const w of wallets.docs) total += BigInt(w.data().balance);
      for (const j of jobs.docs) total += BigInt(j.data().held);
      return total;
    },
    ledgerMismatches: async () => {
      const [wallets, ledger] = await Promise.all([r.wallets().get(), firestore.collectionGroup('ledger').get()]);
      const sums = new Map<number, bigint>();
      for (const d of ledger.docs) {
        const e = d.data() as { userId: number; type: LedgerType; amount: number };
        sums.set(e.userId, (sums.get(e.userId) ?? 0n) + BigInt(LEDGER_SIGN[e.type] * e.amount));
      }
      return wallets.docs.filter((w) => (sums.get(w.data().userId) ?? 0n) !== BigInt(w.data().balance)).length;
    },
    sessionCount: async () => (await r.sessions().count().get()).data().count,
    sessionExists: async (tokenHash) => (await r.session(tokenHash).get()).exists,
    session: async (tokenHash) => {
      const doc = (await r.session(tokenHash).get()).data();
      return doc === undefined ? undefined : { userId: doc.userId, ttlSeconds: Math.round((doc.expiresAt.toMillis() - Date.now()) / 1000) };
    },
    expireSession: async (tokenHash) => {
      await r.session(tokenHash).update({ expiresAt: Timestamp.fromMillis(Date.now() - 1000) });
    },
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
  const shared = opts.shareWith;
  const prefix = shared?.prefix ?? `t${randomBytes(4).toString('hex')}:`;
  const redisServer = shared?.redisServer ?? (await startRedisServer());
  const client: NodeRedisClient = createClient({ url: redisServer.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 100 } });
  client.on('error', () => undefined);
  await client.connect();
  const raw: NodeRedisClient = createClient({ url: redisServer.url, socket: { reconnectStrategy: () => 100 } });
  raw.on('error', () => undefined);
  await raw.connect();

  const database = shared?.database ?? opts.database ?? 'sql';
  const users = opts.users ?? 250;
  const sqlLog: string[] = [];
  let db: Database = NO_SQL_DATABASE;
  let data: AppData;
  let firestore: TestApp['firestore'];
  let inspect: TestInspect;
  if (shared !== undefined) {
    // The other instance's database, through its recording (its queryCount sees both apps).
    db = shared.db;
    data = shared.deps.data;
    inspect = shared.inspect;
    firestore = shared.firestore;
  } else if (database === 'sql') {
    const rawDb = await createTestDatabase();
    await seedDatabase(rawDb, { users });
    db = recordingDatabase(rawDb, sqlLog);
    data = createSqlData(db);
    inspect = sqlInspect(rawDb);
  } else {
    const emulator = await testEmulator();
    const projectId = emulator.projectId();
    const conn = connectFirestore(`firestore://${projectId}`, { emulatorHost: emulator.hostPort });
    const ctx = createFirestoreContext(conn.firestore);
    await seedFirestore(conn.firestore, ctx.bill, { users, throttling: false });
    // Tests measure what the app is billed, not the seed.
    ctx.bill.reset();
    data = createFirestoreData(conn, ctx);
    firestore = { conn, projectId, emulator };
    inspect = firestoreInspect(conn.firestore);
  }

  const metrics = new AppMetrics();
  // The cache's failures reach the dashboard's list as in server.ts.
  const recentErrors = new RecentErrors();
  // The in-process tier as server.ts sets it up (CACHE_L1 → `config: { cacheL1: true }`).
  const cache = createCache({
    redis: client,
    prefix,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    l1: l1CacheOptions(config),
    onError: (event) => recentErrors.record(event),
    ...(opts.clock === undefined ? {} : { clock: opts.clock }),
  });
  const cacheAccess = new CacheAccess({
    cache,
    enabled: config.cacheEnabled,
    fallbackConcurrency: config.dbFallbackConcurrency,
    isRedisHealthy: () => client.isReady,
    l1Namespaces: config.cacheL1 ? L1_NAMESPACES : undefined,
  });
  const deps: AppDeps = {
    config,
    data,
    cacheAccess,
    metrics,
    recentErrors,
    redisStatus: () => ({ mode: 'redis', topology: 'single', state: client.isReady ? 'ready' : 'reconnecting', healthy: client.isReady, reconnectAttempts: 0, totalReconnectAttempts: 0, url: redisServer.url, nodes: [] }),
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
    database,
    db,
    firestore,
    inspect,
    config,
    redisServer,
    redis: raw,
    prefix,
    cache: () => cacheAccess.cache,
    keyExists: async (key) => {
      await cacheAccess.cache.idle();
      return (await raw.exists(prefix + key)) === 1;
    },
    keys: async (pattern) => {
      await cacheAccess.cache.idle();
      return (await raw.keys(prefix + pattern)).map((k) => k.slice(prefix.length)).sort();
    },
    redisCalls: async (command) => {
      await cacheAccess.cache.idle();
      const stats = await raw.info('commandstats');
      return Number(new RegExp(`^cmdstat_${command.toLowerCase()}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
    },
    queryCount: (pattern) => (shared !== undefined ? shared.queryCount(pattern) : database === 'sql' ? sqlLog.filter((sql) => pattern.test(sql)).length : sqlOnly('queryCount')),
    login,
    loginAs: (id) => login(emailOf(id), passwordOf(id)),
    async close() {
      await app.close();
      cacheAccess.close();
      await cacheAccess.cache.close();
      if (client.isOpen) await client.close().catch(() => client.destroy());
      if (raw.isOpen) await raw.close().catch(() => raw.destroy());
      // What this app shares with another is closed by that one.
      if (shared !== undefined) return;
      await data.close();
      // A fresh project per app: dropping its documents only frees the emulator's memory.
      if (firestore !== undefined) await firestore.emulator.clear(firestore.projectId).catch(() => undefined);
      await redisServer.stop();
    },
  };
}
