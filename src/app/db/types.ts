/**
 * The types of the database layer, apart from database.ts so that the drivers (postgres.ts,
 * pglite.ts) can import them without importing database.ts, which loads the drivers.
 */

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
