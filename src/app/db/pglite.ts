/**
 * `Database` on embedded PGlite: PostgreSQL compiled to WASM, running in this process on a
 * single connection. PGlite queues concurrent calls itself, and a transaction holds the
 * connection until it ends, so other queries wait rather than interleave with it.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Database, DbTx, QueryOptions, QueryResult, ResolvedDatabaseOptions } from './types.ts';
import { DatabaseClosedError, DatabaseError, toDatabaseError } from './errors.ts';
import { INT8_OID, ReadCounter, assertSchemaName, parseInt8, simulatedLatency } from './internal.ts';

type PgliteQueryable = Pick<PGlite, 'query' | 'exec'> | Pick<Transaction, 'query' | 'exec'>;

export async function createPgliteDatabase(opts: ResolvedDatabaseOptions): Promise<Database> {
  const schema = opts.schema === undefined ? undefined : assertSchemaName(opts.schema);
  const dataDir = opts.pgliteDataDir;
  // PGlite creates the data folder itself, but not its missing parents (`.data/`).
  if (!dataDir.startsWith('memory://')) mkdirSync(dirname(resolve(dataDir)), { recursive: true });

  let pglite: PGlite;
  try {
    // int8 -> number like the pg backend; PGlite's own parser returns a BigInt past 2^53,
    // which would give callers two types for one column. int8[] reuses this parser.
    pglite = await PGlite.create({ dataDir, parsers: { [INT8_OID]: parseInt8 } });
  } catch (err) {
    throw toDatabaseError(err);
  }

  const reads = new ReadCounter();
  let closed = false;
  const ensureOpen = (): void => {
    if (closed) throw new DatabaseClosedError('database is closed');
  };

  async function run<R>(target: PgliteQueryable, sql: string, params: readonly unknown[] | undefined, domain: string | undefined): Promise<QueryResult<R>> {
    await simulatedLatency(opts.queryDelayMs);
    try {
      const res = await target.query<R>(sql, params === undefined ? [] : [...params]);
      reads.add(domain, res.rows.length);
      return { rows: res.rows, rowCount: res.rowCount ?? res.affectedRows ?? res.rows.length };
    } catch (err) {
      throw toDatabaseError(err);
    }
  }

  async function runScript(target: PgliteQueryable, sql: string): Promise<void> {
    await simulatedLatency(opts.queryDelayMs);
    try {
      await target.exec(sql);
    } catch (err) {
      throw toDatabaseError(err);
    }
  }

  if (schema !== undefined) {
    try {
      // One connection for the instance's lifetime, so a session-level SET is enough.
      await runScript(pglite, `CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
    } catch (err) {
      await pglite.close().catch(() => undefined);
      throw err;
    }
  }

  return {
    kind: 'pglite',

    async query<R>(sql: string, params?: readonly unknown[], qopts?: QueryOptions): Promise<QueryResult<R>> {
      ensureOpen();
      return run<R>(pglite, sql, params, qopts?.domain);
    },

    async execScript(sql: string): Promise<void> {
      ensureOpen();
      return runScript(pglite, sql);
    },

    async transaction<T>(fn: (tx: DbTx) => Promise<T>): Promise<T> {
      ensureOpen();
      let finished = false;
      // Errors from `fn` are the caller's and pass through untouched; anything else
      // (BEGIN, COMMIT, "rolled back instead of committed") comes from PGlite and is typed.
      let fnFailed = false;
      await simulatedLatency(opts.queryDelayMs);
      try {
        return await pglite.transaction(async (ptx) => {
          const ensureActive = (): void => {
            if (finished) throw new DatabaseError('transaction already finished: do not keep the tx object past transaction()');
          };
          const tx: DbTx = {
            query: async <R>(sql: string, params?: readonly unknown[], qopts?: QueryOptions) => {
              ensureActive();
              return run<R>(ptx, sql, params, qopts?.domain);
            },
            execScript: async (sql: string) => {
              ensureActive();
              return runScript(ptx, sql);
            },
          };
          let result: T;
          try {
            result = await fn(tx);
          } catch (err) {
            fnFailed = true;
            throw err;
          } finally {
            finished = true;
          }
          await simulatedLatency(opts.queryDelayMs);
          return result;
        });
      } catch (err) {
        if (fnFailed) throw err;
        throw toDatabaseError(err);
      }
    },

    readStats: () => reads.snapshot(),

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pglite.close();
    },
  };
}
