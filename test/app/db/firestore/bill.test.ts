/**
 * The bill counter counts what Firestore bills (see src/app/db/firestore/bill.ts), checked on
 * the official emulator: one emulator for this file, a fresh project per test.
 */
import { FieldValue, type Firestore } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countReads, createBill, queryReads, type Bill } from '../../../../src/app/db/firestore/bill.ts';
import { connectFirestore, type FirestoreConnection } from '../../../../src/app/db/firestore/connection.ts';
import { describeFirestore, startFirestoreEmulator, type TestFirestoreEmulator } from '../../../helpers/firestore-emulator.ts';

describe('billing arithmetic', () => {
  it('a query bills one read per document, at least one', () => {
    expect([0, 1, 7].map(queryReads)).toEqual([1, 1, 7]);
  });
  it('count() bills one read per started 1,000 index entries, at least one', () => {
    expect([0, 1, 1000, 1001, 2000, 2001].map(countReads)).toEqual([1, 1, 1, 2, 2, 3]);
  });
});

type Domain = 'users' | 'wallets';

describeFirestore('bill counter on the emulator', () => {
  let emu: TestFirestoreEmulator;
  let conn: FirestoreConnection;
  let db: Firestore;
  let bill: Bill<Domain>;

  beforeAll(async () => {
    emu = await startFirestoreEmulator();
  });
  afterAll(async () => {
    await emu?.stop();
  });
  beforeEach(() => {
    conn = connectFirestore(`firestore://${emu.projectId()}`, { emulatorHost: emu.hostPort });
    db = conn.firestore;
    bill = createBill<Domain>(db);
  });
  afterEach(async () => {
    await conn.close();
  });

  /** Seeds documents with the raw client, so seeding is not on the bill. */
  async function seed(n: number, collection = 'users'): Promise<void> {
    const batch = db.batch();
    for (let i = 0; i < n; i++) batch.set(db.collection(collection).doc(`u${i}`), { i, group: i % 2 === 0 ? 'even' : 'odd' });
    await batch.commit();
  }

  it('get: one read for an existing document and one for a missing one', async () => {
    await seed(1);
    expect((await bill.get('users', db.doc('users/u0'))).exists).toBe(true);
    expect(bill.snapshot()).toEqual({ users: { reads: 1, writes: 0, deletes: 0 } });
    expect((await bill.get('users', db.doc('users/nobody'))).exists).toBe(false);
    expect(bill.snapshot()).toEqual({ users: { reads: 2, writes: 0, deletes: 0 } });
  });

  it('getAll: one read per document asked for, found or not', async () => {
    await seed(2);
    const snaps = await bill.getAll('users', db.doc('users/u0'), db.doc('users/u1'), db.doc('users/missing'));
    expect(snaps.map((s) => s.exists)).toEqual([true, true, false]);
    expect(bill.snapshot().users).toEqual({ reads: 3, writes: 0, deletes: 0 });
  });

  it('query: one read per document returned, one when nothing matches', async () => {
    await seed(5);
    expect((await bill.query('users', db.collection('users'))).size).toBe(5);
    expect(bill.snapshot().users?.reads).toBe(5);
    expect((await bill.query('users', db.collection('users').where('group', '==', 'even'))).size).toBe(3);
    expect(bill.snapshot().users?.reads).toBe(8);
    expect((await bill.query('users', db.collection('users').where('group', '==', 'none'))).size).toBe(0);
    expect(bill.snapshot().users?.reads).toBe(9);
    expect((await bill.query('wallets', db.collection('wallets'))).size).toBe(0);
    expect(bill.snapshot()).toEqual({ users: { reads: 9, writes: 0, deletes: 0 }, wallets: { reads: 1, writes: 0, deletes: 0 } });
  });

  it('count(): one read per started 1,000 index entries, one for none; BulkWriter writes count one by one', async () => {
    expect(await bill.count('users', db.collection('users'))).toBe(0);
    expect(bill.snapshot().users?.reads).toBe(1);

    const writer = bill.bulkWriter('wallets');
    const writes = Array.from({ length: 1001 }, (_, i) => writer.create(db.collection('users').doc(`u${i}`), { i }));
    await writer.close();
    await Promise.all(writes);
    expect(bill.snapshot().wallets).toEqual({ reads: 0, writes: 1001, deletes: 0 });

    expect(await bill.count('users', db.collection('users').limit(1000))).toBe(1000);
    expect(bill.snapshot().users?.reads).toBe(2);
    expect(await bill.count('users', db.collection('users'))).toBe(1001);
    expect(bill.snapshot().users?.reads).toBe(4);
  }, 60_000);

  it('single writes: one write per create/set/merge/update (field transforms included), one delete per delete', async () => {
    const w = bill.write('users');
    const ref = db.doc('users/a');
    await w.create(ref, { n: 1 });
    await w.set(ref, { n: 2 });
    await w.set(ref, { m: 1 }, { merge: true });
    await w.update(ref, { n: FieldValue.increment(1), at: FieldValue.serverTimestamp() });
    expect(bill.snapshot().users).toEqual({ reads: 0, writes: 4, deletes: 0 });
    await w.delete(ref);
    await w.delete(db.doc('users/never-existed'));
    expect(bill.snapshot().users).toEqual({ reads: 0, writes: 4, deletes: 2 });
    // A failed write is not billed.
    await expect(w.update(db.doc('users/missing'), { n: 1 })).rejects.toMatchObject({ code: 5 }); // NOT_FOUND
    expect(bill.snapshot().users).toEqual({ reads: 0, writes: 4, deletes: 2 });
  });

  it('transaction: reads as they happen, writes once the commit succeeded', async () => {
    await seed(3);
    const result = await bill.tx('wallets', async (tx) => {
      const one = await tx.get(db.doc('users/u0'));
      const missing = await tx.get(db.doc('users/none'));
      const all = await tx.query(db.collection('users'));
      const none = await tx.query(db.collection('users').where('group', '==', 'none'));
      const both = await tx.getAll(db.doc('users/u1'), db.doc('users/u2'));
      const n = await tx.count(db.collection('users'));
      tx.set(db.doc('users/u9'), { i: 9 }).update(db.doc('users/u0'), { i: 100 }).create(db.doc('users/new'), { i: -1 });
      tx.set(db.doc('users/u1'), { extra: true }, { merge: true }).delete(db.doc('users/u2'));
      return { one: one.exists, missing: missing.exists, all: all.size, none: none.size, both: both.length, n };
    });
    expect(result).toEqual({ one: true, missing: false, all: 3, none: 0, both: 2, n: 3 });
    // 1 + 1 + 3 + 1 + 2 + 1 reads; set, update, create, merge-set: 4 writes; 1 delete.
    expect(bill.snapshot()).toEqual({ wallets: { reads: 9, writes: 4, deletes: 1 } });
    expect((await db.doc('users/u0').get()).get('i')).toBe(100);
    expect((await db.doc('users/u2').get()).exists).toBe(false);
  });

  it('transaction that fails: its reads are billed, its writes are not', async () => {
    await seed(1);
    await expect(
      bill.tx('wallets', async (tx) => {
        await tx.get(db.doc('users/u0'));
        tx.set(db.doc('users/u0'), { i: 1 });
        throw new Error('insufficient funds');
      }),
    ).rejects.toThrow('insufficient funds');
    expect(bill.snapshot()).toEqual({ wallets: { reads: 1, writes: 0, deletes: 0 } });
    expect((await db.doc('users/u0').get()).get('i')).toBe(0);
  });

  it('transaction retried: every attempt bills its reads, only the committed attempt its writes', async () => {
    await seed(1);
    let attempts = 0;
    await bill.tx('wallets', async (tx) => {
      attempts += 1;
      await tx.get(db.doc('users/u0'));
      tx.set(db.doc('users/u0'), { i: attempts }).delete(db.doc('users/x'));
      // The client retries any error whose numeric `code` is retryable (10 = ABORTED), even one
      // thrown by this callback: domain errors must keep string codes.
      if (attempts === 1) throw Object.assign(new Error('simulated contention'), { code: 10 });
    });
    expect(attempts).toBe(2);
    expect(bill.snapshot()).toEqual({ wallets: { reads: 2, writes: 1, deletes: 1 } });
    expect((await db.doc('users/u0').get()).get('i')).toBe(2);
  });

  it('batch: writes and deletes billed when commit() succeeds, nothing when it fails', async () => {
    await seed(2);
    const batch = bill.batch('users');
    batch.set(db.doc('users/b1'), { i: 1 }).create(db.doc('users/b2'), { i: 2 }).update(db.doc('users/u0'), { i: 5 });
    batch.delete(db.doc('users/u1'));
    expect(bill.snapshot()).toEqual({});
    expect(await batch.commit()).toHaveLength(4);
    expect(bill.snapshot()).toEqual({ users: { reads: 0, writes: 3, deletes: 1 } });

    const failing = bill.batch('users');
    failing.set(db.doc('users/b3'), { i: 3 }).create(db.doc('users/b1'), { i: 1 }); // b1 exists: ALREADY_EXISTS
    await expect(failing.commit()).rejects.toMatchObject({ code: 6 });
    expect(bill.snapshot()).toEqual({ users: { reads: 0, writes: 3, deletes: 1 } });
    expect((await db.doc('users/b3').get()).exists).toBe(false); // atomic
  });

  it('reset() empties the bill; snapshot() is a copy', async () => {
    await bill.get('users', db.doc('users/x'));
    const snap = bill.snapshot();
    bill.reset();
    expect(snap).toEqual({ users: { reads: 1, writes: 0, deletes: 0 } });
    expect(bill.snapshot()).toEqual({});
  });
});
