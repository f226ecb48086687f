/**
 * Times the Firestore seed on an emulator (one fresh project per run, BulkWriter throttling off):
 *
 *   cloud_firestore_emulator start --host=127.0.0.1 --port=8095 --project_id=demo-seed &
 *   FIRESTORE_EMULATOR_HOST=127.0.0.1:8095 node --import tsx bench/firestore-seed.ts 1000 10000
 *
 * Prints, per user count: seconds, documents written, documents per second.
 */
import { createBill } from '../src/app/db/firestore/bill.ts';
import { connectFirestore } from '../src/app/db/firestore/connection.ts';
import { SEEDED_COLLECTIONS, seedFirestore } from '../src/app/db/firestore/seed.ts';

const host = process.env['FIRESTORE_EMULATOR_HOST'];
if (host === undefined || host === '') throw new Error('set FIRESTORE_EMULATOR_HOST to a running emulator (this script never seeds a real project)');
const counts = process.argv.slice(2).map(Number);
if (counts.length === 0 || counts.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error('usage: firestore-seed.ts USERS [USERS...]');

for (const users of counts) {
  const conn = connectFirestore(`firestore://demo-seed-${users}-${Date.now().toString(36)}`, { emulatorHost: host });
  const started = performance.now();
  const summary = await seedFirestore(conn.firestore, createBill(conn.firestore), { users, throttling: false });
  const seconds = (performance.now() - started) / 1000;
  const docs = SEEDED_COLLECTIONS.reduce((sum, c) => sum + summary[c], 0);
  process.stdout.write(`${users} users: ${seconds.toFixed(1)} s, ${docs} documents, ${Math.round(docs / seconds)} documents/s\n`);
  await conn.close();
}
