/** The load test's database: seeded (or reused), then read for what the workload needs to know. */
import { createDatabase, type Database } from '../../src/app/db/database.ts';
import { dropAppTables, migrate } from '../../src/app/db/migrate.ts';
import { seedDatabase } from '../../src/app/db/seed.ts';
import { fmtInt } from '../simulate/report.ts';
import { seededJobCount, worldFrom, type JobStatus, type OwnedJob, type World } from '../workload.ts';
import type { LoadTestOptions } from './types.ts';

async function openDb(o: LoadTestOptions): Promise<Database> {
  return o.databaseUrl === undefined
    ? createDatabase({ pgliteDataDir: o.pgliteDir, statementTimeoutMs: 600_000 })
    : createDatabase({ url: o.databaseUrl, schema: o.schema, statementTimeoutMs: 600_000, poolSize: 2 });
}

export /** Seeds (or reuses) the database, then reads what the workload needs to know from it. */
async function prepareDatabase(o: LoadTestOptions, sessionUsers: number[]): Promise<World> {
  const db = await openDb(o);
  try {
    await migrate(db);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    const existing = rows[0]?.n ?? 0;
    if (existing === o.users) {
      o.log(`database: reusing ${fmtInt(existing)} seeded users`);
    } else {
      if (existing > 0) {
        o.log(`database: has ${fmtInt(existing)} users, not ${fmtInt(o.users)}: dropping and re-seeding`);
        await dropAppTables(db);
        await migrate(db);
      }
      const t = performance.now();
      await seedDatabase(db, {
        users: o.users,
        onProgress: (p) => {
          if (o.bar && process.stderr.isTTY) process.stderr.write(`\rseeding ${fmtInt(o.users)} users: ${p.phase.padEnd(14)} ${Math.round((p.done / p.total) * 100)}%`);
        },
      });
      if (o.bar && process.stderr.isTTY) process.stderr.write('\n');
      o.log(`database: seeded ${fmtInt(o.users)} users in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    const counts = await db.query<{ jobs: number; open: number }>(`SELECT count(*)::int AS jobs, (count(*) FILTER (WHERE status = 'open'))::int AS open FROM jobs`);
    const jobs = counts.rows[0]?.jobs ?? 0;
    const openJobs = counts.rows[0]?.open ?? 0;
    if (jobs !== seededJobCount(o.users)) throw new Error(`the database holds ${jobs} jobs, the workload model expects ${seededJobCount(o.users)}: update SEED_JOBS_PER_USER in bench/workload.ts`);
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
    return worldFrom({ users: o.users, jobs, openJobs, sessionUsers, ownedJobs });
  } finally {
    await db.close();
  }
}
