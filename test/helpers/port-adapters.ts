/**
 * Both adapters of one data port, seeded alike, for contract tests that run the same assertions
 * against each: the SQL adapter on a throwaway database (createTestDatabase + seedDatabase) and
 * the Firestore adapter on a throwaway emulator project (seedFirestore). The two seeds share
 * their structure (user N, memberships by formula...) but not their random values, so contract
 * tests assert structural facts and the effects of their own writes.
 */
import { describe } from 'vitest';
import type { AppData } from '../../src/app/data.ts';
import { connectFirestore } from '../../src/app/db/firestore/connection.ts';
import { createFirestoreContext, type FirestoreContext } from '../../src/app/db/firestore/context.ts';
import { seedFirestore } from '../../src/app/db/firestore/seed.ts';
import { seedDatabase } from '../../src/app/db/seed.ts';
import { createSqlData } from '../../src/app/db/sql-data.ts';
import { createTestDatabase } from './db.ts';
import { describeFirestore, startFirestoreEmulator } from './firestore-emulator.ts';

export interface OpenedPort<P> {
  readonly port: P;
  /** The Firestore context (bill, refs) of the Firestore case; undefined for SQL. */
  readonly firestore: FirestoreContext | undefined;
  close(): Promise<void>;
}

export interface AdapterCase<P> {
  readonly name: 'sql' | 'firestore';
  /** `describe`, or `describeFirestore` (skipped, or failed with CI=true, without the emulator). */
  readonly suite: (name: string, fn: () => void) => void;
  /** Seeds `users` users into a fresh database or project and builds the port on it. */
  open(users: number): Promise<OpenedPort<P>>;
}

/** The SQL and Firestore cases of one port: iterate over them with one `describe` body. */
export function adapterCases<P>(build: { sql: (data: AppData) => P; firestore: (ctx: FirestoreContext) => P }): AdapterCase<P>[] {
  return [
    {
      name: 'sql',
      suite: describe,
      async open(users) {
        const db = await createTestDatabase();
        try {
          await seedDatabase(db, { users });
        } catch (err) {
          await db.close();
          throw err;
        }
        return { port: build.sql(createSqlData(db)), firestore: undefined, close: () => db.close() };
      },
    },
    {
      name: 'firestore',
      suite: describeFirestore,
      async open(users) {
        const emu = await startFirestoreEmulator();
        const conn = connectFirestore(`firestore://${emu.projectId()}`, { emulatorHost: emu.hostPort });
        const close = async (): Promise<void> => {
          await conn.close();
          await emu.stop();
        };
        try {
          const ctx = createFirestoreContext(conn.firestore);
          await seedFirestore(conn.firestore, ctx.bill, { users, throttling: false });
          ctx.bill.reset();
          return { port: build.firestore(ctx), firestore: ctx, close };
        } catch (err) {
          await close();
          throw err;
        }
      },
    },
  ];
}
