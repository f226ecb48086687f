/**
 * `Database` on real PostgreSQL through a `pg` pool.
 */
import pg from 'pg';
import type { Database, DbTx, QueryOptions, QueryResult, ResolvedDatabaseOptions } from './types.ts';
import { DatabaseClosedError, DatabaseError, toDatabaseError } from './errors.ts';
import { INT8_ARRAY_OID, INT8_OID, ReadCounter, assertSchemaName, parseInt8, simulatedLatency } from './internal.ts';

type TextParser = (text: string) => unknown;
/** pg's stock parser lookup, typed by plain OID (its typings only accept the builtins enum). */
const stockParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => TextParser;

/**
 * Type parsers for this pool only: `pg.types.setTypeParser` would change every other `pg`
 * user in the process. int8 becomes a number, as PGlite does, so both backends agree.
 */
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): TextParser => {
    if (oid === INT8_OID) return parseInt8;
    if (oid === INT8_ARRAY_OID) {
      // The stock int8[] parser yields strings; reuse its array syntax handling, then convert.
      const parseTextArray = stockParser(INT8_ARRAY_OID, 'text') as (text: string) => (string | null)[];
      return (text) => parseTextArray(text).map((v) => (v === null ? null : parseInt8(v)));
    }
    return stockParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** `queryMode` is a real `pg` option that @types/pg does not declare. */
interface ExtendedQueryConfig extends pg.QueryConfig<unknown[]> {
  /**
   * Always the extended protocol, even without parameters: it allows exactly one statement
   * per call (like PGlite's `query`), so a stray `;` cannot smuggle in a second one.
   */
  queryMode: 'extended';
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export async function createPostgresDatabase(opts: ResolvedDatabaseOptions): Promise<Database> {
  const schema = opts.schema === undefined ? undefined : assertSchemaName(opts.schema);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: opts.statementTimeoutMs,
    // The client-side timeout catches a server that stopped answering altogether; a second
    // of slack lets the server-side statement_timeout fire first with its clearer error.
    query_timeout: opts.statementTimeoutMs > 0 ? opts.statementTimeoutMs + 1_000 : undefined,
    // A transaction left open by a crashed request would hold its locks forever otherwise.
    idle_in_transaction_session_timeout: 60_000,
    keepAlive: true,
    application_name: 'redis-cache-layer',
    types: typeParsers,
    // A startup parameter, so every new connection has the search_path before its first
    // query without an extra round trip (and without racing that first query).
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle client whose connection dies emits 'error' on the pool; unhandled, that would
  // crash the process. The pool has already discarded the client and the next query opens
  // a new connection, so there is nothing else to do here.
  pool.on('error', () => undefined);

  const reads = new ReadCounter();
  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw new DatabaseClosedError('database is closed');
  };

  async function run<R>(target: Queryable, sql: string, params: readonly unknown[] | undefined, domain: string | undefined): Promise<QueryResult<R>> {
    await simulatedLatency(opts.queryDelayMs);
    const config: ExtendedQueryConfig = { text: sql, values: params === undefined ? [] : [...params], queryMode: 'extended' };
    let res: pg.QueryResult;
    try {
      res = await target.query(config);
    } catch (err) {
      throw toDatabaseError(err);
    }
    reads.add(domain, res.rows.length);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
  }

  async function runScript(target: Queryable, sql: string): Promise<void> {
    await simulatedLatency(opts.queryDelayMs);
    try {
      // Simple protocol (no values): the only way to send several statements at once.
      await target.query(sql);
    } catch (err) {
      throw toDatabaseError(err);
    }
  }

  if (schema !== undefined) {
    try {
      await runScript(pool, `CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } catch (err) {
      // Two processes racing on IF NOT EXISTS can still collide in the catalog (23505 /
      // 42P06); the schema exists either way.
      const sqlState = err instanceof DatabaseError ? err.sqlState : undefined;
      if (sqlState !== '23505' && sqlState !== '42P06') {
        await pool.end().catch(() => undefined);
        throw err;
      }
    }
  }

  return {
    kind: 'postgres',

    async query<R>(sql: string, params?: readonly unknown[], qopts?: QueryOptions): Promise<QueryResult<R>> {
      ensureOpen();
      return run<R>(pool, sql, params, qopts?.domain);
    },

    async execScript(sql: string): Promise<void> {
      ensureOpen();
      return runScript(pool, sql);
    },

    async transaction<T>(fn: (tx: DbTx) => Promise<T>): Promise<T> {
      ensureOpen();
      await simulatedLatency(opts.queryDelayMs);
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw toDatabaseError(err);
      }
      let finished = false;
      const ensureActive = (): void => {
        if (finished) throw new DatabaseError('transaction already finished: do not keep the tx object past transaction()');
      };
      const tx: DbTx = {
        query: async <R>(sql: string, params?: readonly unknown[], qopts?: QueryOptions) => {
          ensureActive();
          return run<R>(client, sql, params, qopts?.domain);
        },
        execScript: async (sql: string) => {
          ensureActive();
          return runScript(client, sql);
        },
      };
      // Set when the connection may be mid-transaction or broken: release(err) destroys it
      // instead of handing it to the next caller.
      let brokenConnection: Error | undefined;
      try {
        try {
          await client.query('BEGIN');
        } catch (err) {
          brokenConnection = err instanceof Error ? err : new Error(String(err));
          throw toDatabaseError(err);
        }
        let result: T;
        try {
          result = await fn(tx);
        } catch (err) {
          finished = true;
          await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
            brokenConnection = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
          });
          throw err;
        }
        finished = true;
        await simulatedLatency(opts.queryDelayMs);
        let commit: pg.QueryResult;
        try {
          commit = await client.query('COMMIT');
        } catch (err) {
          brokenConnection = err instanceof Error ? err : new Error(String(err));
          throw toDatabaseError(err);
        }
        // PostgreSQL answers COMMIT of an aborted transaction with the tag ROLLBACK, not an error.
        if (commit.command === 'ROLLBACK') {
          throw new DatabaseError('transaction was rolled back instead of committed: a statement inside it failed', { sqlState: '25P02' });
        }
        return result;
      } finally {
        client.release(brokenConnection);
      }
    },

    readStats: () => reads.snapshot(),

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
