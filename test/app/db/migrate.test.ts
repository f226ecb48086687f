import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MigrationError, type Database } from '../../../src/app/db/database.ts';
import { dropAppTables, loadMigrations, migrate, tablesCreatedBy } from '../../../src/app/db/migrate.ts';
import { createTestDatabase, openSameSchema, usingRealPostgres } from '../../helpers/db.ts';

const opened: Database[] = [];
async function fresh(): Promise<Database> {
  const db = await createTestDatabase({ migrate: false });
  opened.push(db);
  return db;
}

const tempDirs: string[] = [];
async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'migrations-'));
  tempDirs.push(dir);
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  return dir;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.close()));
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tablesOf(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

describe('migrate', () => {
  it('applies every migration once and records it', async () => {
    const db = await fresh();
    const files = await loadMigrations();
    expect(files.map((f) => f.name)).toContain('001_init.sql');

    const first = await migrate(db);
    expect(first.applied).toEqual(files.map((f) => f.name));
    const { rows } = await db.query<{ version: number; name: string; checksum: string; applied_at: Date }>(
      'SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => [r.version, r.name, r.checksum])).toEqual(files.map((f) => [f.version, f.name, f.checksum]));
    expect(rows[0]?.applied_at).toBeInstanceOf(Date);
  });

  it('is a no-op the second time', async () => {
    const db = await fresh();
    await migrate(db);
    const again = await migrate(db);
    expect(again.applied).toEqual([]);
    expect(again.total).toBe((await loadMigrations()).length);
    const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
    expect(rows[0]?.n).toBe(again.total);
  });

  it('creates exactly the tables tablesCreatedBy() finds (what a reset drops)', async () => {
    const db = await fresh();
    await migrate(db);
    const expected = tablesCreatedBy(await loadMigrations());
    expect(expected).toEqual(expect.arrayContaining(['users', 'guilds', 'jobs', 'wallets', 'chat_messages', 'notifications', 'scores']));
    expect(await tablesOf(db)).toEqual([...expected, 'schema_migrations'].sort());
  });

  it('finds created tables in SQL, ignoring comments', () => {
    const sql = '-- CREATE TABLE ghost (id int);\nCREATE TABLE a (id int);\ncreate table if not exists B (id int);';
    expect(tablesCreatedBy([{ version: 1, name: '001_x.sql', sql, checksum: '' }])).toEqual(['a', 'b']);
  });

  it('applies each migration once when several migrate at the same time', async () => {
    const db = await fresh();
    // On PostgreSQL the second handle is another pool, like a second server process.
    const other = usingRealPostgres ? await openSameSchema(db) : db;
    if (other !== db) opened.push(other);
    const results = await Promise.all([migrate(db), migrate(other), migrate(db)]);
    const applied = results.flatMap((r) => r.applied);
    expect(applied.sort()).toEqual((await loadMigrations()).map((m) => m.name).sort());
  });

  it('rolls a failing migration back entirely and does not record it', async () => {
    const db = await fresh();
    const dir = await migrationsDir({
      '001_ok.sql': 'CREATE TABLE mig_ok (id int);',
      '002_bad.sql': 'CREATE TABLE mig_half (id int);\nINSERT INTO mig_missing VALUES (1);',
    });
    const err = await migrate(db, { dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as MigrationError).message).toContain('002_bad.sql');
    expect(await tablesOf(db)).toEqual(['mig_ok', 'schema_migrations']);
    const { rows } = await db.query<{ name: string }>('SELECT name FROM schema_migrations');
    expect(rows.map((r) => r.name)).toEqual(['001_ok.sql']);
  });

  it('refuses to run when an applied migration was edited', async () => {
    const db = await fresh();
    const dir = await migrationsDir({ '001_a.sql': 'CREATE TABLE mig_a (id int);' });
    await migrate(db, { dir });
    await writeFile(join(dir, '001_a.sql'), 'CREATE TABLE mig_a (id bigint);');
    await expect(migrate(db, { dir })).rejects.toThrow(/edited after it was applied/);
  });

  it('rejects badly named and duplicate migration files', async () => {
    await expect(loadMigrations(await migrationsDir({ '1_init.sql': '' }))).rejects.toBeInstanceOf(MigrationError);
    await expect(loadMigrations(await migrationsDir({ '001_a.sql': '', '001_b.sql': '' }))).rejects.toThrow(/share version/);
  });

  it('dropAppTables removes the schema so migrate rebuilds it', async () => {
    const db = await fresh();
    await migrate(db);
    await db.query(`INSERT INTO users (email, password_hash, display_name) VALUES ('a@example.com', 'x', 'A')`);
    await dropAppTables(db);
    expect(await tablesOf(db)).toEqual([]);
    expect((await migrate(db)).applied).toContain('001_init.sql');
    const { rows } = await db.query('SELECT 1 FROM users');
    expect(rows).toHaveLength(0);
  });
});
