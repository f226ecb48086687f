/** The load test on PostgreSQL (DATABASE_URL, a schema of its own) or PGlite: seeded or reused, then read with SQL. */
import { createDatabase, type Database } from '../../src/app/db/database.ts';
import { dropAppTables, migrate } from '../../src/app/db/migrate.ts';
import { seedDatabase } from '../../src/app/db/seed.ts';
import { fmtInt } from '../simulate/report.ts';
import { seededJobCount, worldFrom, type JobStatus, type OwnedJob, type World } from '../workload.ts';
import { LoadTestSetupError } from './errors.ts';
import type { DatabaseChoice, LoadTestDatabase, SeedInfo } from './types.ts';

export const SQL_READ_UNIT = { one: 'database row read', many: 'database rows read', source: '`/health` database.rowsRead' } as const;

type SqlChoice = Extract<DatabaseChoice, { kind: 'postgres' | 'pglite' }>;

export function openSqlDatabase(choice: SqlChoice, log: (line: string) => void, bar: boolean): LoadTestDatabase {
  const open = (): Promise<Database> =>
    choice.kind === 'pglite'
      ? createDatabase({ pgliteDataDir: choice.dir, statementTimeoutMs: 600_000 })
      : createDatabase({ url: choice.url, schema: choice.schema, statementTimeoutMs: 600_000, poolSize: 2 });
  return {
    name: choice.kind === 'pglite' ? 'PGlite' : 'PostgreSQL',
    description: choice.kind === 'pglite' ? `PGlite (${choice.dir})` : `PostgreSQL (DATABASE_URL, schema \`${choice.schema}\`)`,
    readUnit: SQL_READ_UNIT,
    loginConcurrency: 8,
    async prepare(users, sessionUsers) {
      const db = await open();
      try {
        const seed = await seedOrReuse(db, users, log, bar);
        return { world: await readWorld(db, users, sessionUsers), seed };
      } finally {
        await db.close();
      }
    },
    serverEnv: () =>
      choice.kind === 'pglite'
        ? { DATABASE_URL: undefined, DATABASE_SCHEMA: undefined, PGLITE_DATA_DIR: choice.dir }
        : { DATABASE_URL: choice.url, DATABASE_SCHEMA: choice.schema },
    close: async () => {},
  };
}

async function seedOrReuse(db: Database, users: number, log: (line: string) => void, bar: boolean): Promise<SeedInfo> {
  await migrate(db);
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  const existing = rows[0]?.n ?? 0;
  if (existing === users) {
    log(`database: reusing ${fmtInt(existing)} seeded users`);
    return { users, reused: true, seconds: 0, written: 0, writtenUnit: 'rows' };
  }
  if (existing > 0) {
    log(`database: has ${fmtInt(existing)} users, not ${fmtInt(users)}: dropping and re-seeding`);
    await dropAppTables(db);
    await migrate(db);
  }
  const t = performance.now();
  const summary = await seedDatabase(db, {
    users,
    onProgress: (p) => {
      if (bar && process.stderr.isTTY) process.stderr.write(`\rseeding ${fmtInt(users)} users: ${p.phase.padEnd(14)} ${Math.round((p.done / p.total) * 100)}%`);
    },
  });
  if (bar && process.stderr.isTTY) process.stderr.write('\n');
  const seconds = (performance.now() - t) / 1000;
  log(`database: seeded ${fmtInt(users)} users in ${seconds.toFixed(1)} s`);
  return { users, reused: false, seconds, written: Object.values(summary).reduce((a, b) => a + b, 0), writtenUnit: 'rows' };
}

async function readWorld(db: Database, users: number, sessionUsers: number[]): Promise<World> {
  const counts = await db.query<{ jobs: number; open: number }>(`SELECT count(*)::int AS jobs, (count(*) FILTER (WHERE status = 'open'))::int AS open FROM jobs`);
  const jobs = counts.rows[0]?.jobs ?? 0;
  const openJobs = counts.rows[0]?.open ?? 0;
  if (jobs !== seededJobCount(users)) throw new LoadTestSetupError(`the database holds ${jobs} jobs, the workload model expects ${seededJobCount(users)}: update SEED_JOBS_PER_USER in bench/workload.ts`, 'seed_mismatch');
  const index = new Map<number, number>();
  sessionUsers.forEach((u, i) => index.set(u, i));
  const owned = await db.query<{ id: number; owner_id: number; status: JobStatus }>(
    `SELECT id, owner_id, status FROM jobs WHERE status <> 'completed' AND owner_id = ANY($1::bigint[]) ORDER BY id`,
    [sessionUsers],
  );
  const ownedJobs: OwnedJob[] = [];
  for (const r of owned.rows) {
    const session = index.get(r.owner_id);
    if (session !== undefined && r.status !== 'completed') ownedJobs.push({ jobId: r.id, status: r.status, session });
  }
  return worldFrom({ users, jobs, openJobs, sessionUsers, ownedJobs });
}
