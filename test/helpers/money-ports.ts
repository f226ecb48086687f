/**
 * The money ports (wallets, jobs, leaderboards) on both databases, for port-level contract
 * tests that run the SAME assertions against each adapter with one `describe.each`:
 *  - `sql`: a throwaway migrated database (test/helpers/db.ts: PostgreSQL with DATABASE_URL,
 *    else PGlite) seeded by `seedDatabase`, with the SQL adapters;
 *  - `firestore`: an emulator of its own (test/helpers/firestore-emulator.ts), a fresh project
 *    seeded by `seedFirestore`, with the Firestore adapters on one context.
 * Both seeds share their structure (user N, one wallet and two scores per user, ~0.2 jobs per
 * user) but not their random values, so tests assert structure and the effect of their writes.
 * The `inspect` functions read what the ports do not expose (ledger rows, a score, a name),
 * straight from each database, to check what a write really stored.
 */
import { createBill } from '../../src/app/db/firestore/bill.ts';
import { connectFirestore } from '../../src/app/db/firestore/connection.ts';
import { createFirestoreContext, type FirestoreContext } from '../../src/app/db/firestore/context.ts';
import { LEDGER_SIGN, type BoardType } from '../../src/app/db/firestore/model.ts';
import { seedFirestore } from '../../src/app/db/firestore/seed.ts';
import { seedDatabase } from '../../src/app/db/seed.ts';
import { createFirestoreJobsData } from '../../src/app/jobs/jobs.firestore.ts';
import type { JobsData } from '../../src/app/jobs/jobs.data.ts';
import { createSqlJobsData } from '../../src/app/jobs/jobs.sql.ts';
import type { LeaderboardsData } from '../../src/app/leaderboards/leaderboards.data.ts';
import { createFirestoreLeaderboardsData } from '../../src/app/leaderboards/leaderboards.firestore.ts';
import { createSqlLeaderboardsData } from '../../src/app/leaderboards/leaderboards.sql.ts';
import type { LedgerType, WalletsData } from '../../src/app/wallets/wallets.data.ts';
import { createFirestoreWalletsData } from '../../src/app/wallets/wallets.firestore.ts';
import { createSqlWalletsData } from '../../src/app/wallets/wallets.sql.ts';
import { createTestDatabase } from './db.ts';
import { firestoreAvailability, startFirestoreEmulator } from './firestore-emulator.ts';

export interface LedgerRow {
  id: number;
  type: LedgerType;
  amount: number;
  jobId: number | null;
}

export interface MoneyPorts {
  readonly kind: 'sql' | 'firestore';
  wallets: WalletsData;
  jobs: JobsData;
  leaderboards: LeaderboardsData;
  /** Direct reads of the database, beside the ports. */
  inspect: {
    /** The user's ledger, oldest id first. */
    ledger(userId: number): Promise<LedgerRow[]>;
    /** The stored (unclamped) score, undefined without one. */
    score(userId: number, type: BoardType): Promise<number | undefined>;
    displayName(userId: number): Promise<string | undefined>;
  };
  /** The Firestore context (bill, refs), for Firestore-only checks. */
  readonly firestore: FirestoreContext | undefined;
  close(): Promise<void>;
}

export interface MoneyBackend {
  readonly name: 'sql' | 'firestore';
  start(users: number): Promise<MoneyPorts>;
}

/** The signed sum of a ledger: what its entries add to the balance. */
export function ledgerSum(rows: readonly LedgerRow[]): number {
  return rows.reduce((sum, r) => sum + LEDGER_SIGN[r.type] * r.amount, 0);
}

const sqlBackend: MoneyBackend = {
  name: 'sql',
  async start(users) {
    const db = await createTestDatabase();
    try {
      await seedDatabase(db, { users });
    } catch (err) {
      await db.close();
      throw err;
    }
    return {
      kind: 'sql',
      wallets: createSqlWalletsData(db),
      jobs: createSqlJobsData(db),
      leaderboards: createSqlLeaderboardsData(db),
      inspect: {
        async ledger(userId) {
          const { rows } = await db.query<{ id: number; type: LedgerType; amount: number; job_id: number | null }>(
            'SELECT id, type, amount, job_id FROM wallet_transactions WHERE user_id = $1 ORDER BY id',
            [userId],
          );
          return rows.map((r) => ({ id: r.id, type: r.type, amount: r.amount, jobId: r.job_id }));
        },
        async score(userId, type) {
          const { rows } = await db.query<{ score: number }>('SELECT score FROM scores WHERE user_id = $1 AND type = $2', [userId, type]);
          return rows[0]?.score;
        },
        async displayName(userId) {
          const { rows } = await db.query<{ display_name: string }>('SELECT display_name FROM users WHERE id = $1', [userId]);
          return rows[0]?.display_name;
        },
      },
      firestore: undefined,
      close: () => db.close(),
    };
  },
};

const firestoreBackend: MoneyBackend = {
  name: 'firestore',
  async start(users) {
    const emu = await startFirestoreEmulator();
    const conn = connectFirestore(`firestore://${emu.projectId()}`, { emulatorHost: emu.hostPort });
    const close = async (): Promise<void> => {
      await conn.close();
      await emu.stop();
    };
    try {
      await seedFirestore(conn.firestore, createBill(conn.firestore), { users, throttling: false });
    } catch (err) {
      await close();
      throw err;
    }
    const ctx = createFirestoreContext(conn.firestore);
    return {
      kind: 'firestore',
      wallets: createFirestoreWalletsData(ctx),
      jobs: createFirestoreJobsData(ctx),
      leaderboards: createFirestoreLeaderboardsData(ctx),
      inspect: {
        async ledger(userId) {
          const snap = await ctx.refs.ledger(userId).orderBy('id').get();
          return snap.docs.map((d) => {
            const e = d.data();
            return { id: e.id, type: e.type, amount: e.amount, jobId: e.jobId };
          });
        },
        async score(userId, type) {
          return (await ctx.refs.score(type, userId).get()).data()?.score;
        },
        async displayName(userId) {
          return (await ctx.refs.user(userId).get()).data()?.displayName;
        },
      },
      firestore: ctx,
      close,
    };
  },
};

/**
 * The backends to run a contract over: SQL always; Firestore when the emulator is installed.
 * Without it the Firestore run is left out with a console line (CI=true: kept, and it fails
 * with the reason), so a green run never hides a skipped database.
 */
export function moneyBackends(): MoneyBackend[] {
  const availability = firestoreAvailability();
  if (availability.available) return [sqlBackend, firestoreBackend];
  if (process.env['CI'] === 'true') {
    return [sqlBackend, { name: 'firestore', start: () => Promise.reject(new Error(availability.reason)) }];
  }
  console.warn(`[skipped] the Firestore half of the money port tests: ${availability.reason}`);
  return [sqlBackend];
}

/** Whatever a port call rejected with, as `{ status, code }` (the HttpError fields), for `toEqual`. */
export async function refusal(p: Promise<unknown>): Promise<{ status: unknown; code: unknown }> {
  try {
    await p;
  } catch (err) {
    const e = err as { statusCode?: unknown; code?: unknown };
    return { status: e.statusCode, code: e.code };
  }
  throw new Error('expected a refusal, the call succeeded');
}
