/**
 * The load test on Google's Firestore emulator (`npm run loadtest -- --database firestore`):
 * the emulator at FIRESTORE_EMULATOR_HOST, or one started here on a free port (the test
 * helper's, so it dies with this process); seeded with the same seed as `npm run seed`
 * (seedFirestore), then read through the Firestore client for what the workload needs.
 *
 * Never a real project: a 100,000-user seed writes 1.7 million documents and one run reads
 * millions, which on Google would be a real bill. There is no path here that talks to Google:
 * every client gets an explicit emulator host.
 */
import { execFileSync } from 'node:child_process';
import type { DocumentData, Firestore, Query, QueryDocumentSnapshot } from '@google-cloud/firestore';
import { createBill } from '../../src/app/db/firestore/bill.ts';
import { connectFirestore, parseFirestoreUrl, type FirestoreConnection } from '../../src/app/db/firestore/connection.ts';
import { clearEmulatorProject } from '../../src/app/db/firestore/emulator.ts';
import { JOB_STATUSES, refs } from '../../src/app/db/firestore/model.ts';
import { SEEDED_COLLECTIONS, seedFirestore } from '../../src/app/db/firestore/seed.ts';
import { firestoreAvailability, startFirestoreEmulator, type TestFirestoreEmulator } from '../../test/helpers/firestore-emulator.ts';
import { fmtInt } from '../simulate/report.ts';
import { seededJobCount, worldFrom, type OwnedJob, type World } from '../workload.ts';
import { LoadTestSetupError } from './errors.ts';
import type { DatabaseChoice, LoadTestDatabase, SeedInfo } from './types.ts';

export const FIRESTORE_READ_UNIT = { one: 'billed document read', many: 'billed document reads', source: '`/health` database.billed, reads' } as const;

/** Most values one `in` filter takes (Firestore's limit). */
const IN_LIMIT = 30;

type FirestoreChoice = Extract<DatabaseChoice, { kind: 'firestore' }>;

/** The emulator's own version line ("cloud-firestore-emulator 1.19.9"), for the report; a JVM start, a few seconds. */
function emulatorVersion(): string {
  const a = firestoreAvailability();
  if (!a.available) return 'version unknown';
  try {
    const out = execFileSync(a.launcher, ['start', '--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    return /cloud-firestore-emulator \S+/.exec(out)?.[0] ?? 'version unknown';
  } catch {
    return 'version unknown';
  }
}

export async function openFirestoreDatabase(choice: FirestoreChoice, log: (line: string) => void, bar: boolean): Promise<LoadTestDatabase> {
  // Checked before an emulator is started, so a typo costs no JVM start.
  const url = `firestore://${choice.projectId}`;
  parseFirestoreUrl(url);
  let emulator: TestFirestoreEmulator | undefined;
  let host = choice.emulatorHost;
  if (host === undefined) {
    const t = performance.now();
    // Java on two busy cores can take a while to answer the first time.
    emulator = await startFirestoreEmulator({ startTimeoutMs: 120_000 });
    host = emulator.hostPort;
    log(`firestore: started the emulator on ${host} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const emulatorHost = host;
  const conn: FirestoreConnection = connectFirestore(url, { emulatorHost });
  let closing: Promise<void> | undefined;
  return {
    name: 'the Firestore emulator',
    description: `Google Cloud Firestore emulator (${emulator === undefined ? 'the one at FIRESTORE_EMULATOR_HOST' : `${emulatorVersion()}, started by the load test on a free port`}), project \`${choice.projectId}\``,
    readUnit: FIRESTORE_READ_UNIT,
    // A log-in is a transaction with a query (the user's expired sessions). The emulator locks
    // much more than Google for it, so concurrent log-ins of different users abort one another
    // (docs/firestore.md); one at a time they never wait for a lock.
    loginConcurrency: 1,
    async prepare(users, sessionUsers) {
      const seed = await seedOrReuse(conn, emulatorHost, users, log, bar);
      return { world: await readWorld(conn.firestore, users, sessionUsers), seed };
    },
    serverEnv: () => ({ DATABASE_URL: url, FIRESTORE_EMULATOR_HOST: emulatorHost, DATABASE_SCHEMA: undefined, PGLITE_DATA_DIR: undefined }),
    close() {
      closing ??= conn
        .close()
        .catch(() => undefined)
        .then(() => emulator?.stop());
      return closing;
    },
  };
}

/**
 * Reuses the project when `meta/seed` says a finished seed of exactly `users` users is there
 * (the natural way to iterate: start an emulator once, pass FIRESTORE_EMULATOR_HOST); otherwise
 * clears it (it is an emulator) and seeds it afresh.
 */
async function seedOrReuse(conn: FirestoreConnection, emulatorHost: string, users: number, log: (line: string) => void, bar: boolean): Promise<SeedInfo> {
  const r = refs(conn.firestore);
  const meta = (await r.seedMeta().get()).data();
  if (meta?.status === 'done' && meta.users === users) {
    log(`firestore: reusing the seed of ${fmtInt(users)} users in project ${conn.projectId}`);
    return { users, reused: true, seconds: 0, written: 0, writtenUnit: 'documents' };
  }
  const hasUsers = !(await r.users().limit(1).get()).empty;
  if (meta !== undefined || hasUsers) {
    log(`firestore: project ${conn.projectId} holds ${meta === undefined ? 'data without a seed record' : `a ${meta.status} seed of ${fmtInt(meta.users)} users`}, not ${fmtInt(users)}: clearing and re-seeding`);
    await clearEmulatorProject(emulatorHost, conn.projectId);
  }
  const t = performance.now();
  const summary = await seedFirestore(conn.firestore, createBill(conn.firestore), {
    users,
    // The client's 500/50/5 ramp-up protects a real project's new collections; the emulator has none.
    throttling: false,
    onProgress: (p) => {
      if (bar && process.stderr.isTTY) process.stderr.write(`\rseeding ${fmtInt(users)} users: ${p.phase.padEnd(14)} ${Math.round((p.done / p.total) * 100)}%`);
    },
  });
  if (bar && process.stderr.isTTY) process.stderr.write('\n');
  const seconds = (performance.now() - t) / 1000;
  const written = SEEDED_COLLECTIONS.reduce((sum, c) => sum + summary[c], 0);
  log(`firestore: seeded ${fmtInt(users)} users (${fmtInt(written)} documents) in ${seconds.toFixed(1)} s`);
  return { users, reused: false, seconds, written, writtenUnit: 'documents' };
}

async function count(q: Query<DocumentData>): Promise<number> {
  return (await q.count().get()).data().count;
}

function field<T>(d: QueryDocumentSnapshot, name: string, ok: (v: unknown) => v is T): T {
  const v: unknown = d.get(name);
  if (!ok(v)) throw new LoadTestSetupError(`job ${d.id} has an unexpected ${name} (${JSON.stringify(v)}): not the seed's data model`, 'seed_mismatch');
  return v;
}
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isStatus = (v: unknown): v is (typeof JOB_STATUSES)[number] => (JOB_STATUSES as readonly unknown[]).includes(v);

/**
 * What the workload needs, the SQL path's questions asked of Firestore: users and jobs
 * (count() aggregations), open jobs, and the editable jobs of the session users (`in` queries
 * of 30 owners, the filter's limit, reading only id, owner and status).
 */
export async function readWorld(db: Firestore, users: number, sessionUsers: number[]): Promise<World> {
  const r = refs(db);
  const [userCount, jobs, openJobs] = await Promise.all([count(r.users()), count(r.jobs()), count(r.jobs().where('status', '==', 'open'))]);
  if (userCount !== users) throw new LoadTestSetupError(`the project holds ${userCount} users, not ${users}`, 'seed_mismatch');
  if (jobs !== seededJobCount(users)) throw new LoadTestSetupError(`the project holds ${jobs} jobs, the workload model expects ${seededJobCount(users)}: update SEED_JOBS_PER_USER in bench/workload.ts`, 'seed_mismatch');
  const index = new Map<number, number>();
  sessionUsers.forEach((u, i) => index.set(u, i));
  const chunks: number[][] = [];
  for (let i = 0; i < sessionUsers.length; i += IN_LIMIT) chunks.push(sessionUsers.slice(i, i + IN_LIMIT));
  const snaps = await Promise.all(chunks.map((owners) => r.jobs().where('ownerId', 'in', owners).select('id', 'ownerId', 'status').get()));
  const ownedJobs: OwnedJob[] = [];
  for (const snap of snaps) {
    for (const d of snap.docs) {
      const status = field(d, 'status', isStatus);
      const session = index.get(field(d, 'ownerId', isInt));
      if (session !== undefined && status !== 'completed') ownedJobs.push({ jobId: field(d, 'id', isInt), status, session });
    }
  }
  // The SQL path's order (by id): the workload draws from this list by index, so the same seed
  // gives the same trace whichever order the queries answered in.
  ownedJobs.sort((a, b) => a.jobId - b.jobId);
  return worldFrom({ users, jobs, openJobs, sessionUsers, ownedJobs });
}
