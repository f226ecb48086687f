/**
 * Seeds the reference backend's database.
 *
 *   npm run seed -- --users 100000            # PostgreSQL if DATABASE_URL is set, else PGlite in .data/pglite
 *   npm run seed -- --users 1000 --reset      # drop every app table first, then migrate and seed
 *   DATABASE_URL=firestore://demo-rcl FIRESTORE_EMULATOR_HOST=127.0.0.1:8080 npm run seed -- --users 100000 --reset
 *                                             # Firestore (emulator): --reset clears the project first
 *
 * Seeded accounts: user{N}@example.com with the password `loadtest-password` (seed data only,
 * see seed.ts). With --demo, user 1 is demo@example.com / demo1234 instead; --demo is refused
 * when NODE_ENV=production, since that password is published.
 */
import { parseArgs } from 'node:util';
import { createDatabase, DatabaseError, DEFAULT_PGLITE_DATA_DIR, type Database } from '../src/app/db/database.ts';
import { dropAppTables, migrate } from '../src/app/db/migrate.ts';
import { seedDatabase, type SeedProgress } from '../src/app/db/seed.ts';
import { connectFirestore, FirestoreUrlError } from '../src/app/db/firestore/connection.ts';
import { createBill } from '../src/app/db/firestore/bill.ts';
import { clearEmulatorProject } from '../src/app/db/firestore/emulator.ts';
import { seedFirestore } from '../src/app/db/firestore/seed.ts';

const USAGE = `Usage: npm run seed -- [--users N] [--reset] [--batch-size N] [--pglite-dir DIR]

  --users N         users to create (default 1000)
  --demo            user 1 is the demo account demo@example.com / demo1234 (refused with NODE_ENV=production)
  --reset           drop all application tables (and their data) first; Firestore: clear the
                    emulator's project (refused on a real project)
  --batch-size N    ids per INSERT statement (default 10000)
  --pglite-dir DIR  PGlite data folder when DATABASE_URL is unset (default ${DEFAULT_PGLITE_DATA_DIR})

Environment: DATABASE_URL=postgres://user@host:5432/db selects PostgreSQL; DATABASE_URL=firestore://<project-id>
selects Firestore, on the emulator at FIRESTORE_EMULATOR_HOST=host:port when set (else Google, with
Application Default Credentials). On Firestore, --reset deletes every document of the project and
is refused unless FIRESTORE_EMULATOR_HOST is set; --batch-size and --pglite-dir do not apply.`;

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

/** One-line progress bar on stderr, redrawn in place on a terminal; one line per phase otherwise (CI logs). */
function progressBar(startMs: number): { update(p: SeedProgress): void; end(): void } {
  const tty = process.stderr.isTTY;
  const width = 30;
  let lastPhase = '';
  return {
    update(p) {
      const seconds = ((performance.now() - startMs) / 1000).toFixed(1);
      const ratio = p.total === 0 ? 1 : p.done / p.total;
      if (tty) {
        const filled = Math.round(ratio * width);
        const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
        process.stderr.write(`\r[${bar}] ${String(Math.round(ratio * 100)).padStart(3)}% ${p.phase.padEnd(14)} ${seconds}s`);
      } else if (p.phase !== lastPhase) {
        process.stderr.write(`seed: ${p.phase} (${Math.round(ratio * 100)}%, ${seconds}s)\n`);
      }
      lastPhase = p.phase;
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string' },
      reset: { type: 'boolean', default: false },
      demo: { type: 'boolean', default: false },
      'batch-size': { type: 'string' },
      'pglite-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const users = positiveInt('users', values.users, 1000);
  const batchSize = positiveInt('batch-size', values['batch-size'], 10_000);
  const url = process.env.DATABASE_URL;
  if (values.demo && process.env.NODE_ENV === 'production') throw new Error('--demo is refused with NODE_ENV=production: the demo account has a published password');
  if (url?.startsWith('firestore:') === true) return seedOnFirestore(url, users, values.reset, values.demo);

  // Seed statements are big; a minute each is far more than they need but keeps a stuck
  // server from hanging the script forever.
  const db: Database = await createDatabase({ url, pgliteDataDir: values['pglite-dir'], statementTimeoutMs: 60_000 });
  try {
    const where = db.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${values['pglite-dir'] ?? DEFAULT_PGLITE_DATA_DIR}`;
    process.stderr.write(`seed: ${users} users into ${where}${values.reset ? ', after reset' : ''}\n`);
    if (values.reset) await dropAppTables(db);
    const migrated = await migrate(db);
    if (migrated.applied.length > 0) process.stderr.write(`seed: applied migrations ${migrated.applied.join(', ')}\n`);

    const startMs = performance.now();
    const bar = progressBar(startMs);
    const summary = await seedDatabase(db, { users, batchSize, demoAccount: values.demo, onProgress: (p) => bar.update(p) }).finally(() => bar.end());
    const seconds = (performance.now() - startMs) / 1000;

    for (const [table, rows] of Object.entries(summary)) process.stderr.write(`  ${table.padEnd(20)} ${rows.toLocaleString('en-US').padStart(12)}\n`);
    process.stdout.write(`seeded ${users} users on ${db.kind} in ${seconds.toFixed(1)} s\n`);
  } finally {
    await db.close();
  }
}

async function seedOnFirestore(url: string, users: number, reset: boolean, demo: boolean): Promise<void> {
  const conn = connectFirestore(url);
  try {
    const where = conn.emulatorHost === undefined ? `Firestore project ${conn.projectId} (Google, Application Default Credentials)` : `Firestore project ${conn.projectId} on the emulator at ${conn.emulatorHost}`;
    if (reset && conn.emulatorHost === undefined) {
      throw new Error('--reset on Firestore clears the project through the emulator and is refused on a real project (FIRESTORE_EMULATOR_HOST is not set); delete the data with the console or gcloud if you mean it');
    }
    process.stderr.write(`seed: ${users} users into ${where}${reset ? ', after clearing it' : ''}\n`);
    if (reset && conn.emulatorHost !== undefined) await clearEmulatorProject(conn.emulatorHost, conn.projectId);

    const bill = createBill(conn.firestore);
    const startMs = performance.now();
    const bar = progressBar(startMs);
    const summary = await seedFirestore(conn.firestore, bill, {
      users,
      demoAccount: demo,
      // The client's 500/50/5 ramp-up protects a real project's new collections; the emulator has
      // none to protect, and throttling would only make the measurement meaningless.
      ...(conn.emulatorHost === undefined ? {} : { throttling: false }),
      onProgress: (p) => bar.update(p),
    }).finally(() => bar.end());
    const seconds = (performance.now() - startMs) / 1000;

    let documents = 0;
    for (const [collection, n] of Object.entries(summary)) {
      documents += n;
      process.stderr.write(`  ${collection.padEnd(20)} ${n.toLocaleString('en-US').padStart(12)}\n`);
    }
    const billed = bill.snapshot()['seed'];
    if (billed !== undefined) process.stderr.write(`  billed: ${billed.writes.toLocaleString('en-US')} writes, ${billed.reads.toLocaleString('en-US')} reads\n`);
    process.stdout.write(`seeded ${users} users on firestore in ${seconds.toFixed(1)} s: ${documents.toLocaleString('en-US')} documents, ${Math.round(documents / seconds).toLocaleString('en-US')} documents/s\n`);
  } finally {
    await conn.close();
  }
}

main().catch((err: unknown) => {
  const label =
    err instanceof DatabaseError ? `${err.code}${err.sqlState === undefined ? '' : ` (${err.sqlState})`}` : err instanceof FirestoreUrlError ? err.code : 'error';
  process.stderr.write(`\nseed failed: ${label}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
