/**
 * The load test's database seam: one LoadTestDatabase per kind (database-sql.ts: PostgreSQL and
 * PGlite; database-firestore.ts: the Firestore emulator), each seeding or reusing its data and
 * reading what the workload needs its own way. The rest of the load test sees only the interface.
 */
import { openSqlDatabase } from './database-sql.ts';
import { LoadTestSetupError } from './errors.ts';
import type { LoadTestDatabase, LoadTestOptions } from './types.ts';

export async function openDatabase(o: LoadTestOptions): Promise<LoadTestDatabase> {
  const choice = o.database;
  if (choice.kind !== 'firestore') return openSqlDatabase(choice, o.log, o.bar);
  // DB_QUERY_DELAY_MS delays SQL statements only: a Firestore run would claim a latency it never had.
  if (o.dbLatencyMs > 0) throw new LoadTestSetupError('--db-latency-ms applies to PostgreSQL and PGlite only, not to Firestore', 'bad_database');
  // Loaded on demand: the Firestore client (gRPC) and the emulator helper (which imports vitest
  // for describeFirestore) are heavy, and a SQL run needs neither.
  const { openFirestoreDatabase } = await import('./database-firestore.ts');
  return openFirestoreDatabase(choice, o.log, o.bar);
}
