/**
 * The database behind the data ports, opened the same way by the server (server.ts, at boot)
 * and by the operator CLI (`redis-cache-layer warm`), so the CLI warms from exactly what the
 * server reads. Failures throw DataOpenError; the server turns them into its fatal log line and
 * exit 1, the CLI into its one-line error.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { AppConfig } from './config.ts';
import type { AppData } from './data.ts';
import { createDatabase, SeedError, type Database } from './db/database.ts';
import { connectFirestore } from './db/firestore/connection.ts';
import { createFirestoreData } from './db/firestore/data.ts';
import { refs } from './db/firestore/model.ts';
import { FirestoreSeedRefusedError, SEED_DOMAIN, seedFirestore } from './db/firestore/seed.ts';
import { migrate } from './db/migrate.ts';
import { seedDatabase } from './db/seed.ts';
import { createSqlData } from './db/sql-data.ts';
import { TIMED_OUT, within } from './within.ts';

/** The database could not be opened; `message` is the one line to show. */
export class DataOpenError extends Error {
  readonly code = 'E_DATA_OPEN';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataOpenError';
  }
}

export interface OpenDataOptions {
  /** Seed the demo data set into an empty database (the server: SEED_DEMO). The CLI never seeds. */
  seed: boolean;
}

/**
 * PGlite is one process's database: a second process opening the same folder would corrupt it.
 * A lock file holding the owner's pid keeps it out (a server, or the CLI's `warm`); a lock left
 * by a dead process is taken over. Returns the release function.
 */
function lockDataDir(dir: string): () => void {
  if (dir.startsWith('memory://')) return () => {};
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, '..', `${basename(dir)}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      // Once only: released at close and again at exit, a second removal could take another process's lock.
      let held = true;
      return () => {
        if (held) rmSync(lock, { force: true });
        held = false;
      };
    } catch {
      const owner = Number(readFileSync(lock, 'utf8'));
      let alive = false;
      try {
        alive = Number.isInteger(owner) && owner > 0 && process.kill(owner, 0);
      } catch {
        alive = false;
      }
      if (alive) throw new DataOpenError(`${dir} is in use by another server (pid ${owner}); stop it or set PGLITE_DATA_DIR`);
      rmSync(lock, { force: true });
    }
  }
  throw new DataOpenError(`cannot lock ${dir}`);
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** PostgreSQL or PGlite: connect, migrate, seed the demo set on an empty database when asked. */
async function openSql(config: AppConfig, logger: Logger, opts: OpenDataOptions): Promise<AppData> {
  const releaseLock = config.databaseUrl === undefined ? lockDataDir(config.pgliteDataDir) : () => {};
  process.on('exit', releaseLock);
  let db: Database | undefined;
  try {
    db = await createDatabase({ url: config.databaseUrl, pgliteDataDir: config.pgliteDataDir, poolSize: config.databasePoolSize, queryDelayMs: config.dbQueryDelayMs, ...(config.databaseSchema === undefined ? {} : { schema: config.databaseSchema }) });
    await migrate(db);
    if (opts.seed) {
      const { rows } = await db.query<{ seeded: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS seeded');
      if (rows[0]?.seeded !== true) {
        logger.info('empty database: seeding the demo data set (1,000 users; log in as demo@example.com / demo1234)');
        await seedDatabase(db, { users: 1000 }).catch((err: unknown) => {
          // Another instance starting on the same empty database seeded it first: fine.
          if (!(err instanceof SeedError)) throw err;
          logger.info('demo data already seeded by another instance');
        });
      }
    }
    const data = createSqlData(db);
    // The lock goes with the database, so a process that closes it and carries on (the CLI) frees the folder.
    return { ...data, close: () => data.close().finally(releaseLock) };
  } catch (err) {
    await db?.close().catch(() => undefined);
    releaseLock();
    throw new DataOpenError(`database unavailable: ${messageOf(err)}`, { cause: err });
  }
}

/** Longest the boot probe of Firestore may take: the client retries unreachable hosts for minutes. */
const FIRESTORE_BOOT_TIMEOUT_MS = 20_000;

/**
 * Firestore (`DATABASE_URL=firestore://<project>`): no migrations (schemaless; the composite
 * indexes are in firestore.indexes.json) and no data-folder lock (the service is shared by
 * design). One probe read proves the project answers; on an empty project with `seed` the
 * 1,000-user demo set is written, as on PGlite.
 */
async function openFirestore(config: AppConfig, logger: Logger, opts: OpenDataOptions): Promise<AppData> {
  const url = config.databaseUrl ?? '';
  const conn = connectFirestore(url, config.firestoreEmulatorHost === undefined ? {} : { emulatorHost: config.firestoreEmulatorHost });
  const target = conn.emulatorHost === undefined ? 'Google (Application Default Credentials)' : `the emulator at ${conn.emulatorHost}`;
  logger.info({ projectId: conn.projectId, emulator: conn.emulatorHost ?? null }, `Firestore: project ${conn.projectId} on ${target}`);
  const data = createFirestoreData(conn);
  try {
    const probe = data.bill.query(SEED_DOMAIN, refs(conn.firestore).users().limit(1));
    const existing = await within(probe, FIRESTORE_BOOT_TIMEOUT_MS);
    if (existing === TIMED_OUT) throw new Error(`no answer within ${FIRESTORE_BOOT_TIMEOUT_MS} ms`);
    if (opts.seed && existing.empty) {
      logger.info('empty Firestore project: seeding the demo data set (1,000 users; log in as demo@example.com / demo1234)');
      await seedFirestore(conn.firestore, data.bill, {
        users: 1000,
        // The client's 500/50/5 ramp-up protects a real project's new collections; the emulator
        // has nothing to protect and would only be slowed down.
        ...(conn.emulatorHost === undefined ? {} : { throttling: false }),
      }).catch((err: unknown) => {
        // Another instance starting on the same empty project seeded it (or is seeding it) first.
        if (!(err instanceof FirestoreSeedRefusedError) || err.reason === 'bad_options') throw err;
        logger.info('demo data already seeded by another instance');
      });
    }
    return data;
  } catch (err) {
    await conn.close().catch(() => undefined);
    throw new DataOpenError(`Firestore unavailable (project ${conn.projectId} on ${target}): ${messageOf(err)}`, { cause: err });
  }
}

/** The database DATABASE_URL names (PostgreSQL, PGlite or Firestore), behind the data ports. */
export function openData(config: AppConfig, logger: Logger, opts: OpenDataOptions): Promise<AppData> {
  return config.databaseKind === 'firestore' ? openFirestore(config, logger, opts) : openSql(config, logger, opts);
}
