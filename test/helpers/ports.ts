/**
 * Every data port on both databases, for port-level contract tests that run the SAME
 * assertions against each adapter (test/app/<domain>/<domain>.port.test.ts):
 *  - `sql`: a throwaway migrated database (test/helpers/db.ts: PostgreSQL with DATABASE_URL,
 *    else PGlite) seeded by `seedDatabase`, with the SQL adapters (`createSqlData`);
 *  - `firestore`: an emulator of its own (test/helpers/firestore-emulator.ts), a fresh project
 *    seeded by `seedFirestore`, with the Firestore adapters (`createFirestoreData`) on one
 *    context whose bill starts at zero once the seed is written.
 * Both seeds share their structure (user N, one wallet and two scores per user, memberships by
 * formula...) but not their random values, so tests assert structure and the effect of their
 * own writes.
 *
 * `describePorts` is the one way to register such a suite: `describe` for SQL and
 * `describeFirestore` for Firestore (so a missing emulator is a skipped suite with its reason
 * locally and a failing one with CI=true), with the backend opened in `beforeAll` and closed in
 * `afterAll`. The ports on the handle it passes can be taken at registration time
 * (`const chat = b.chat`): they forward to the adapters opened by `beforeAll`.
 */
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe } from 'vitest';
import type { AppData } from '../../src/app/data.ts';
import type { Bill } from '../../src/app/db/firestore/bill.ts';
import { connectFirestore } from '../../src/app/db/firestore/connection.ts';
import { createFirestoreContext, type FirestoreContext } from '../../src/app/db/firestore/context.ts';
import { createFirestoreData } from '../../src/app/db/firestore/data.ts';
import { LEDGER_SIGN, type BoardType } from '../../src/app/db/firestore/model.ts';
import { seedFirestore } from '../../src/app/db/firestore/seed.ts';
import { seedDatabase } from '../../src/app/db/seed.ts';
import { createSqlData } from '../../src/app/db/sql-data.ts';
import { createFirestoreUsersData, type FirestoreUsersOptions } from '../../src/app/users/users.firestore.ts';
import type { LedgerType } from '../../src/app/wallets/wallets.data.ts';
import { createTestDatabase } from './db.ts';
import { describeFirestore, startFirestoreEmulator } from './firestore-emulator.ts';

export const PORT_BACKENDS = ['sql', 'firestore'] as const;
export type PortBackendName = (typeof PORT_BACKENDS)[number];

export interface LedgerRow {
  id: number;
  type: LedgerType;
  amount: number;
  jobId: number | null;
}

/** Direct reads of the database, beside the ports: what a write really stored. */
export interface PortInspect {
  /** The user's ledger, oldest id first. */
  ledger(userId: number): Promise<LedgerRow[]>;
  /** The stored (unclamped) score, undefined without one. */
  score(userId: number, type: BoardType): Promise<number | undefined>;
  displayName(userId: number): Promise<string | undefined>;
}

/** The Firestore side of a backend, for the few Firestore-only checks. */
export interface FirestoreHandle {
  /** The raw client (e.g. for `refs(db)` or writes no port allows). */
  readonly db: Firestore;
  /** The context the adapters share (refs, ids, bill). */
  readonly ctx: FirestoreContext;
  /** `ctx.bill`: what the adapters were billed since the seed (or the last `reset()`). */
  readonly bill: Bill;
}

type Ports = Pick<AppData, 'users' | 'wallets' | 'guilds' | 'jobs' | 'chat' | 'notifications' | 'leaderboards' | 'sessions'>;

/** One backend with every port on it. */
export interface PortBackend extends Ports {
  readonly name: PortBackendName;
  readonly inspect: PortInspect;
  /** The Firestore side, for a check registered under `b.name === 'firestore'`; throws on SQL. */
  requireFirestore(): FirestoreHandle;
}

export interface PortSuiteOptions {
  /** How many users the seed writes. */
  users: number;
  /** Passed to the Firestore users adapter (e.g. `copiesPerTransaction`). */
  usersOptions?: FirestoreUsersOptions;
}

interface Opened {
  readonly ports: Ports;
  readonly inspect: PortInspect;
  readonly firestore: FirestoreHandle | undefined;
  close(): Promise<void>;
}

async function openSql(opts: PortSuiteOptions): Promise<Opened> {
  const db = await createTestDatabase();
  try {
    await seedDatabase(db, { users: opts.users });
  } catch (err) {
    await db.close();
    throw err;
  }
  return {
    ports: createSqlData(db),
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
}

async function openFirestore(opts: PortSuiteOptions): Promise<Opened> {
  const emu = await startFirestoreEmulator();
  const conn = connectFirestore(`firestore://${emu.projectId()}`, { emulatorHost: emu.hostPort });
  const close = async (): Promise<void> => {
    await conn.close();
    await emu.stop();
  };
  try {
    const ctx = createFirestoreContext(conn.firestore);
    await seedFirestore(conn.firestore, ctx.bill, { users: opts.users, throttling: false });
    ctx.bill.reset();
    return {
      ports: { ...createFirestoreData(conn, ctx), users: createFirestoreUsersData(ctx, opts.usersOptions) },
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
      firestore: { db: conn.firestore, ctx, bill: ctx.bill },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** An object that forwards every property read to `get()`'s result, methods bound to it. */
function forward<T extends object>(get: () => T): T {
  return new Proxy({} as T, {
    get(_target, key) {
      const target = get();
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Registers `body` once per backend, as `title` with `%s` replaced by the backend's name:
 * under `describe` for SQL and under `describeFirestore` for Firestore. The backend is seeded
 * with `opts.users` users in `beforeAll` (2 minutes allowed: the emulator is a JVM) and closed
 * in `afterAll`. `body` registers hooks and tests as a `describe` body does; branch on
 * `b.name` for backend-specific tests.
 */
export function describePorts(title: string, opts: PortSuiteOptions, body: (b: PortBackend) => void): void {
  for (const name of PORT_BACKENDS) {
    const suite = name === 'sql' ? describe : describeFirestore;
    suite(title.replace('%s', name), () => {
      let opened: Opened | undefined;
      const current = (): Opened => {
        if (opened === undefined) throw new Error(`the ${name} backend is not open (did its beforeAll fail?)`);
        return opened;
      };
      beforeAll(async () => {
        opened = await (name === 'sql' ? openSql(opts) : openFirestore(opts));
      }, 120_000);
      afterAll(async () => {
        await opened?.close();
      });
      const port = <K extends keyof Ports>(key: K): Ports[K] => forward(() => current().ports[key]);
      body({
        name,
        users: port('users'),
        wallets: port('wallets'),
        guilds: port('guilds'),
        jobs: port('jobs'),
        chat: port('chat'),
        notifications: port('notifications'),
        leaderboards: port('leaderboards'),
        sessions: port('sessions'),
        inspect: forward(() => current().inspect),
        requireFirestore() {
          const fs = current().firestore;
          if (fs === undefined) throw new Error(`the ${name} backend has no Firestore side`);
          return fs;
        },
      });
    });
  }
}

/** The signed sum of a ledger: what its entries add to the balance. */
export function ledgerSum(rows: readonly LedgerRow[]): number {
  return rows.reduce((sum, r) => sum + LEDGER_SIGN[r.type] * r.amount, 0);
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
