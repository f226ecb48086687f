/**
 * The database of the reference backend: real PostgreSQL through a `pg` pool when a URL is
 * given, embedded PGlite (PostgreSQL compiled to WASM) otherwise. Both speak the same SQL,
 * so every query, migration and seed statement is written once.
 *
 * Every query counts the rows it returned under a `domain` label (`readStats()`): that is
 * the "database reads" number the cache is meant to bring down, measured at the source.
 */
import { createPostgresDatabase } from './postgres.ts';

export * from './errors.ts';
export { DEFAULT_DOMAIN } from './internal.ts';

/** A result row when the caller does not give a more precise type. */
export type Row = Record<string, unknown>;

export interface QueryResult<R> {
  rows: R[];
  /** Rows returned by a SELECT, or rows changed by INSERT / UPDATE / DELETE. */
  rowCount: number;
}

export interface QueryOptions {
  /** Label the rows read by this query are counted under in `readStats()`; default `'other'`. */
  domain?: string;
}

/** What can run inside a transaction; a `Database` is also one (each call auto-commits). */
export interface DbTx {
  /**
   * One parameterised statement: values go in `params` and are referenced as `$1, $2...`,
   * never concatenated into `sql`. int8 columns come back as numbers, timestamptz as `Date`,
   * numeric as string.
   */
  query<R = Row>(sql: string, params?: readonly unknown[], opts?: QueryOptions): Promise<QueryResult<R>>;
  /**
   * Several `;`-separated statements with no parameters, for trusted SQL written in this
   * repository (migration files, DDL). Never pass anything built from input here.
   */
  execScript(sql: string): Promise<void>;
}

export interface Database extends DbTx {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `fn` in BEGIN ... COMMIT on one connection. Any error thrown by `fn` rolls back and
   * is rethrown unchanged (driver errors are already typed). If a statement failed inside
   * and `fn` swallowed the error, COMMIT cannot succeed: that throws a `DatabaseError`
   * (SQLSTATE 25P02) instead of pretending the work was saved.
   */
  transaction<T>(fn: (tx: DbTx) => Promise<T>): Promise<T>;
  /** Rows read so far, per domain (a fresh copy on every call). */
  readStats(): Record<string, number>;
  /** Closes the pool or the embedded instance; idempotent. Later calls throw `DatabaseClosedError`. */
  close(): Promise<void>;
}

export interface CreateDatabaseOptions {
  /** `postgres://...` connection URL. When set, PostgreSQL through `pg`; otherwise PGlite. */
  url?: string;
  /**
   * PGlite data folder, created if missing; `'memory://'` keeps everything in memory (tests).
   * Ignored when `url` is set. Default `.data/pglite` (relative to the working directory).
   */
  pgliteDataDir?: string;
  /** Maximum connections in the `pg` pool. Default 10. Ignored for PGlite (one connection). */
  poolSize?: number;
  /**
   * Schema to create if missing and to put alone on the `search_path` of every connection,
   * so unqualified table names resolve there (tests isolate themselves on a shared server
   * this way). Lower-case identifier. Default: the server's default search_path (`public`).
   */
  schema?: string;
  /**
   * Artificial delay before every statement sent (BEGIN and COMMIT included), to imitate a
   * managed database in another zone. Default 0.
   */
  queryDelayMs?: number;
  /**
   * Server-side `statement_timeout` for `pg`, plus a client-side read timeout a second
   * longer in case the server itself stops answering. Default 10 000. PGlite runs queries
   * in-process on the same thread and cannot interrupt them, so it ignores this.
   */
  statementTimeoutMs?: number;
  /**
   * `pg` only: how long to wait for a new connection or for a free one when the pool is
   * exhausted before failing with `DatabaseTimeoutError`. Default 5 000.
   */
  connectTimeoutMs?: number;
}

/** `CreateDatabaseOptions` with every default applied. */
export interface ResolvedDatabaseOptions {
  url: string | undefined;
  pgliteDataDir: string;
  poolSize: number;
  schema: string | undefined;
  queryDelayMs: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
}

export const DEFAULT_PGLITE_DATA_DIR = '.data/pglite';

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${value}`);
  return value;
}

/**
 * Opens the database (pool or embedded instance) and, with `schema`, creates that schema.
 * Does not run migrations: call `migrate(db)` from `migrate.ts`.
 */
export async function createDatabase(opts: CreateDatabaseOptions = {}): Promise<Database> {
  const poolSize = nonNegative('poolSize', opts.poolSize, 10);
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new RangeError(`poolSize must be an integer >= 1, got ${poolSize}`);
  const resolved: ResolvedDatabaseOptions = {
    url: opts.url === '' ? undefined : opts.url,
    pgliteDataDir: opts.pgliteDataDir ?? DEFAULT_PGLITE_DATA_DIR,
    poolSize,
    schema: opts.schema,
    queryDelayMs: nonNegative('queryDelayMs', opts.queryDelayMs, 0),
    statementTimeoutMs: nonNegative('statementTimeoutMs', opts.statementTimeoutMs, 10_000),
    connectTimeoutMs: nonNegative('connectTimeoutMs', opts.connectTimeoutMs, 5_000),
  };
  if (resolved.url !== undefined) return createPostgresDatabase(resolved);
  // Loaded only when needed: deployments on real PostgreSQL never load the WASM build.
  const { createPgliteDatabase } = await import('./pglite.ts');
  return createPgliteDatabase(resolved);
}
