/**
 * Both adapters of the users, sessions and notifications ports behind one shape, for the
 * port contract tests (test/app/{users,sessions,notifications}/*.port.test.ts): the SQL adapter
 * on a throwaway database (PostgreSQL with DATABASE_URL, else PGlite) seeded with seedDatabase,
 * and the Firestore adapter on its own emulator and fresh project seeded with seedFirestore.
 * The same assertions then run against each (`describe.each(PORT_BACKENDS)`).
 */
import type { Firestore } from '@google-cloud/firestore';
import { connectFirestore } from '../../src/app/db/firestore/connection.ts';
import { createFirestoreContext, type FirestoreContext } from '../../src/app/db/firestore/context.ts';
import { seedFirestore } from '../../src/app/db/firestore/seed.ts';
import { seedDatabase } from '../../src/app/db/seed.ts';
import { createSqlData } from '../../src/app/db/sql-data.ts';
import { createFirestoreNotificationsData } from '../../src/app/notifications/notifications.firestore.ts';
import type { NotificationsData } from '../../src/app/notifications/notifications.data.ts';
import { createFirestoreSessionsData } from '../../src/app/sessions/sessions.firestore.ts';
import type { SessionsData } from '../../src/app/sessions/sessions.data.ts';
import { createFirestoreUsersData, type FirestoreUsersOptions } from '../../src/app/users/users.firestore.ts';
import type { UsersData } from '../../src/app/users/users.data.ts';
import { createTestDatabase } from './db.ts';
import { firestoreAvailability, startFirestoreEmulator } from './firestore-emulator.ts';

export const PORT_BACKENDS = ['sql', 'firestore'] as const;
export type PortBackendName = (typeof PORT_BACKENDS)[number];

export interface PortBackend {
  readonly name: PortBackendName;
  readonly users: UsersData;
  readonly sessions: SessionsData;
  readonly notifications: NotificationsData;
  /** Firestore only: the raw client and context, for what the port does not show (copies, bill). */
  readonly firestore: { db: Firestore; ctx: FirestoreContext } | undefined;
  close(): Promise<void>;
}

/** Why a backend cannot run here (the Firestore emulator is missing), or undefined. */
export function backendUnavailable(name: PortBackendName): string | undefined {
  if (name === 'sql') return undefined;
  const a = firestoreAvailability();
  return a.available ? undefined : a.reason;
}

export async function openPortBackend(name: PortBackendName, opts: { users: number; usersOptions?: FirestoreUsersOptions }): Promise<PortBackend> {
  if (name === 'sql') {
    const db = await createTestDatabase();
    await seedDatabase(db, { users: opts.users });
    const data = createSqlData(db);
    return { name, users: data.users, sessions: data.sessions, notifications: data.notifications, firestore: undefined, close: () => db.close() };
  }
  const emu = await startFirestoreEmulator();
  const conn = connectFirestore(`firestore://${emu.projectId()}`, { emulatorHost: emu.hostPort });
  try {
    const ctx = createFirestoreContext(conn.firestore);
    await seedFirestore(conn.firestore, ctx.bill, { users: opts.users, throttling: false });
    ctx.bill.reset();
    return {
      name,
      users: createFirestoreUsersData(ctx, opts.usersOptions),
      sessions: createFirestoreSessionsData(ctx),
      notifications: createFirestoreNotificationsData(ctx),
      firestore: { db: conn.firestore, ctx },
      async close() {
        await conn.close();
        await emu.stop();
      },
    };
  } catch (err) {
    await conn.close();
    await emu.stop();
    throw err;
  }
}

/**
 * Inside a `describe.each(PORT_BACKENDS)` body: when the backend cannot run, registers one
 * skipped test naming the reason (a failing one with CI=true, as describeFirestore does) and
 * returns true, so the caller returns before registering its hooks and tests.
 */
export function registerUnavailable(name: PortBackendName, it: (name: string, fn: () => void) => void, skip: (name: string, fn: () => void) => void): boolean {
  const why = backendUnavailable(name);
  if (why === undefined) return false;
  if (process.env['CI'] === 'true') {
    it(`needs the ${name} backend (CI=true)`, () => {
      throw new Error(why);
    });
  } else {
    console.warn(`[skipped] ${name}: ${why}`);
    skip(`needs the ${name} backend: ${why}`, () => undefined);
  }
  return true;
}
