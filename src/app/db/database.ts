/**
 * The database of the reference backend: real PostgreSQL through a `pg` pool when a URL is
 * given, embedded PGlite (PostgreSQL compiled to WASM) otherwise. Both speak the same SQL,
 * so every query, migration and seed statement is written once.
 *
 * Every query counts the rows it returned under a `domain` label (`readStats()`): that is
 * the "database reads" number the cache is meant to bring down, measured at the source.
 */
import { createPostgresDatabase } from './postgres.ts';
import type { CreateDatabaseOptions, Database, ResolvedDatabaseOptions } from './types.ts';

export * from './errors.ts';
export { DEFAULT_DOMAIN } from './internal.ts';

export type * from './types.ts';

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
