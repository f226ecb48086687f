/**
 * A throwaway, migrated database per call, never a mock. With `DATABASE_URL` set it is a
 * fresh schema `t_<random>` on that real PostgreSQL server (so test files running in
 * parallel, and other people on the same server, never see each other's rows), dropped
 * again by `close()`. Without it, an in-memory PGlite instance.
 */
import { randomBytes } from 'node:crypto';
import { createDatabase, type Database, type DbTx, type QueryOptions } from '../../src/app/db/database.ts';
import { migrate } from '../../src/app/db/migrate.ts';

export interface TestDatabaseOptions {
  /** Run the migrations before returning. Default true. */
  migrate?: boolean;
  /** Passed to `createDatabase`. Default 0. */
  queryDelayMs?: number;
  /** `pg` pool size. Default 4: enough for concurrency tests without starving a shared server. */
  poolSize?: number;
}

/** True when the tests run against a real PostgreSQL server. */
export const usingRealPostgres = (process.env.DATABASE_URL ?? '') !== '';

export async function createTestDatabase(opts: TestDatabaseOptions = {}): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    const db = await createDatabase({ pgliteDataDir: 'memory://', queryDelayMs: opts.queryDelayMs });
    if (opts.migrate ?? true) await migrate(db);
    return db;
  }

  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await createDatabase({ url, schema, poolSize: opts.poolSize ?? 4, queryDelayMs: opts.queryDelayMs });
  try {
    if (opts.migrate ?? true) await migrate(db);
  } catch (err) {
    await dropSchemaAndClose(db, schema);
    throw err;
  }
  // Same object shape, but close() drops the schema first (once: close stays idempotent).
  let closed = false;
  return {
    kind: db.kind,
    query: <R>(sql: string, params?: readonly unknown[], qopts?: QueryOptions) => db.query<R>(sql, params, qopts),
    execScript: (sql: string) => db.execScript(sql),
    transaction: <T>(fn: (tx: DbTx) => Promise<T>) => db.transaction(fn),
    readStats: () => db.readStats(),
    close: async () => {
      if (closed) return;
      closed = true;
      await dropSchemaAndClose(db, schema);
    },
  };
}

/** Second Database handle on the same schema (real PostgreSQL only): another "process" for concurrency tests. */
export async function openSameSchema(db: Database): Promise<Database> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') throw new Error('openSameSchema needs DATABASE_URL');
  const { rows } = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
  const schema = rows[0]?.schema;
  if (schema === undefined) throw new Error('no current schema');
  return createDatabase({ url, schema, poolSize: 2 });
}

async function dropSchemaAndClose(db: Database, schema: string): Promise<void> {
  try {
    // The schema name was generated above: safe to interpolate.
    await db.execScript(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await db.close();
  }
}
