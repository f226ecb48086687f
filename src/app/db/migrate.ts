/**
 * Schema migrations: plain SQL files `migrations/NNN_name.sql`, applied in version order,
 * each in its own transaction together with its row in `schema_migrations`, so a failed
 * migration leaves nothing behind and a recorded one is fully applied.
 *
 * Safe to run from several processes at once: every step holds a transaction-scoped
 * advisory lock keyed on the current schema, so one process applies a migration while the
 * others wait, then find it recorded and skip it.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, DbTx } from './database.ts';
import { MigrationError } from './errors.ts';

export interface Migration {
  /** The NNN of the file name. */
  version: number;
  /** The file name, e.g. `001_init.sql`. */
  name: string;
  sql: string;
  /** sha256 of the file (line endings normalised), recorded to detect edits after applying. */
  checksum: string;
}

export interface MigrateOptions {
  /** Folder of `NNN_name.sql` files. Default: the `migrations/` folder next to this module. */
  dir?: string;
  /** Domain the migration queries are counted under in `readStats()`. Default `'migrations'`. */
  domain?: string;
}

export interface MigrateResult {
  /** Files applied by this call, in order; empty when the schema was already up to date. */
  applied: string[];
  /** Every migration recorded in the database after this call. */
  total: number;
}

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const FILE_NAME = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/**
 * First argument of the two-key advisory lock: an arbitrary constant ("mig" in ASCII) that
 * keeps this lock apart from any other advisory lock the application might take.
 */
const LOCK_CLASS = 0x6d6967;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Reads and validates the migration files of `dir`, sorted by version. */
export async function loadMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new MigrationError(`cannot read migrations folder ${dir}`, { cause: err });
  }
  const migrations: Migration[] = [];
  for (const name of names.filter((n) => n.endsWith('.sql')).sort()) {
    const match = FILE_NAME.exec(name);
    if (match === null) throw new MigrationError(`migration file ${name} does not match NNN_name.sql`);
    const sql = (await readFile(join(dir, name), 'utf8')).replace(/\r\n/g, '\n');
    const checksum = createHash('sha256').update(sql).digest('hex');
    migrations.push({ version: Number(match[1]), name, sql, checksum });
  }
  for (let i = 1; i < migrations.length; i++) {
    const prev = migrations[i - 1];
    const cur = migrations[i];
    if (prev !== undefined && cur !== undefined && prev.version === cur.version) {
      throw new MigrationError(`migrations ${prev.name} and ${cur.name} share version ${cur.version}`);
    }
  }
  return migrations;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

/** Takes the lock, creates the bookkeeping table if needed, returns what is recorded. */
async function lockAndReadApplied(tx: DbTx, domain: string): Promise<Map<number, AppliedRow>> {
  await tx.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [LOCK_CLASS], { domain });
  await tx.execScript(CREATE_TABLE);
  const { rows } = await tx.query<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version', [], { domain });
  return new Map(rows.map((r) => [r.version, r]));
}

function assertUnchanged(migrations: readonly Migration[], applied: ReadonlyMap<number, AppliedRow>): void {
  for (const m of migrations) {
    const row = applied.get(m.version);
    if (row !== undefined && row.checksum !== m.checksum) {
      throw new MigrationError(
        `migration ${m.name} was edited after it was applied (recorded as ${row.name}); add a new migration instead of changing an applied one`,
      );
    }
  }
}

const CREATE_TABLE_NAME = /\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([a-z_][a-z0-9_]*)/gi;

/**
 * The tables `migrations` create, in creation order. Read from our own SQL files rather
 * than from the catalog so that a reset can never drop a table that is not ours (the
 * default schema may be shared), and rather than from a hand-kept list so that a new
 * migration cannot be forgotten.
 */
export function tablesCreatedBy(migrations: readonly Migration[]): string[] {
  const tables: string[] = [];
  for (const m of migrations) {
    const sql = m.sql.replace(/--[^\n]*/g, ''); // a commented-out CREATE TABLE creates nothing
    for (const match of sql.matchAll(CREATE_TABLE_NAME)) {
      const name = match[1]?.toLowerCase();
      if (name !== undefined && !tables.includes(name)) tables.push(name);
    }
  }
  return tables;
}

/**
 * Drops every table the migrations of `opts.dir` create, and the migration records, in one
 * transaction, so that `migrate()` rebuilds the schema from scratch. Destroys all data:
 * for seeds and tests.
 */
export async function dropAppTables(db: Database, opts: Pick<MigrateOptions, 'dir'> = {}): Promise<void> {
  const tables = tablesCreatedBy(await loadMigrations(opts.dir)).reverse();
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [LOCK_CLASS], { domain: 'migrations' });
    // Names come from our migration files (identifier pattern above), never from input.
    await tx.execScript([...tables, 'schema_migrations'].map((t) => `DROP TABLE IF EXISTS ${t} CASCADE;`).join('\n'));
  });
}

/**
 * Applies every migration of `opts.dir` not yet recorded, in version order. Idempotent:
 * a second call applies nothing. Rows recorded in the database for files that no longer
 * exist are left alone (a newer deployment may have written them).
 */
export async function migrate(db: Database, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = await loadMigrations(opts.dir);
  const domain = opts.domain ?? 'migrations';
  const applied: string[] = [];
  // One transaction per migration: each step re-reads the records under the lock, so a
  // migration applied meanwhile by another process is seen and skipped.
  for (;;) {
    const step = await db.transaction(async (tx) => {
      const recorded = await lockAndReadApplied(tx, domain);
      assertUnchanged(migrations, recorded);
      const next = migrations.find((m) => !recorded.has(m.version));
      if (next === undefined) return { done: true as const, total: recorded.size };
      try {
        await tx.execScript(next.sql);
      } catch (err) {
        throw new MigrationError(`migration ${next.name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [next.version, next.name, next.checksum], {
        domain,
      });
      return { done: false as const, name: next.name };
    });
    if (step.done) return { applied, total: step.total };
    applied.push(step.name);
  }
}
