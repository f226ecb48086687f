/**
 * Sanity check that the official emulator really isolates transactions (the npm look-alike
 * does not), so adapter tests that rely on it mean something: 50 concurrent debits of 10 on a
 * balance of 200 through `runTransaction`.
 *
 * What the emulator does (recorded 2026-11-30, emulator from the Cloud SDK, client 8.7.1, two
 * cores shared with other jobs): all 50 transactions read the same document and then want to
 * write it; the emulator locks it, so most of them wait and fail with gRPC status 10 ABORTED,
 * message "10 ABORTED: Transaction lock timeout." The client retries ABORTED by itself (default
 * maxAttempts 5, exponential backoff from 1 s): in six runs, 2, 3, 6, 12, 20 and 20 of the 50
 * committed within those retries, in 13 to 22 s (one run with maxAttempts 20: all 20 debits,
 * 432 attempts, ~90 s). What reaches the caller after the last retry is the client's error
 * with `code === 10` (a number, the gRPC status; not a string), `details` the bare message.
 * Production Firestore reports contention with the same code ("Too much contention on these
 * documents"), so the adapters can map code 10 after retries to 409/503 rather than 500.
 * Caution for the adapters: the client also retries any error thrown by the callback whose
 * numeric `code` is retryable (10, 409, 1, 2, 4, 8, 13, 14, 16), so domain errors thrown
 * inside a transaction must carry string codes (the project's do).
 *
 * So the test checks isolation by invariants, then settles the aborted debits one at a time
 * as a caller retrying later would: exactly 20 debits succeed in total, the balance ends at 0
 * and no two successful debits ever saw the same balance (no lost update, never negative).
 */
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { connectFirestore, type FirestoreConnection } from '../../../../src/app/db/firestore/connection.ts';
import { describeFirestore, startFirestoreEmulator, type TestFirestoreEmulator } from '../../../helpers/firestore-emulator.ts';

class InsufficientFunds extends Error {
  readonly code = 'E_INSUFFICIENT_FUNDS'; // a string code: the client retries numeric retryable codes
}

type Outcome = { ok: true; saw: number } | { ok: false; kind: 'funds' } | { ok: false; kind: 'aborted'; message: string };

async function debit(db: Firestore, path: string, amount: number): Promise<Outcome> {
  try {
    const saw = await db.runTransaction(async (tx) => {
      const balance: unknown = (await tx.get(db.doc(path))).get('balance');
      if (typeof balance !== 'number') throw new Error(`no balance at ${path}`);
      if (balance < amount) throw new InsufficientFunds(`balance ${balance} < ${amount}`);
      tx.update(db.doc(path), { balance: balance - amount });
      return balance;
    });
    return { ok: true, saw };
  } catch (err) {
    if (err instanceof InsufficientFunds) return { ok: false, kind: 'funds' };
    const code = (err as { code?: unknown }).code;
    if (code === 10) return { ok: false, kind: 'aborted', message: (err as Error).message };
    throw err;
  }
}

describeFirestore('emulator transactions', () => {
  let emu: TestFirestoreEmulator;
  let conn: FirestoreConnection | undefined;

  beforeAll(async () => {
    emu = await startFirestoreEmulator();
  });
  afterAll(async () => {
    await emu?.stop();
  });
  afterEach(async () => {
    await conn?.close();
    conn = undefined;
  });

  it('50 concurrent debits of 10 on 200: no lost update, failures are ABORTED or insufficient funds; settled, exactly 20 succeed', async () => {
    conn = connectFirestore(`firestore://${emu.projectId()}`, { emulatorHost: emu.hostPort });
    const db = conn.firestore;
    const path = 'wallets/w1';
    await db.doc(path).set({ balance: 200 });

    const t0 = performance.now();
    const first = await Promise.all(Array.from({ length: 50 }, () => debit(db, path, 10)));
    const concurrentMs = Math.round(performance.now() - t0);

    const committed = first.filter((o) => o.ok);
    const aborted = first.filter((o) => !o.ok && o.kind === 'aborted');
    const funds = first.filter((o) => !o.ok && o.kind === 'funds');
    expect(committed.length + aborted.length + funds.length).toBe(50);
    for (const o of aborted) expect(o.message).toMatch(/ABORTED/);
    // Serializable: the balance is exactly what the committed debits took, and every committed
    // debit saw a different balance (two seeing the same one would be a lost update).
    const balanceAfter: unknown = (await db.doc(path).get()).get('balance');
    expect(balanceAfter).toBe(200 - 10 * committed.length);
    const saw = committed.map((o) => o.saw);
    expect(new Set(saw).size).toBe(saw.length);
    expect(Math.min(...saw, 200)).toBeGreaterThanOrEqual(10);
    if (committed.length < 20) expect(aborted.length).toBeGreaterThan(0); // nothing else may fail them
    console.log(
      `[firestore emulator] 50 concurrent debits: ${committed.length} committed, ${aborted.length} ABORTED after the client's retries, ${funds.length} insufficient funds, ${concurrentMs} ms`,
    );

    // The aborted ones, retried one by one as a caller would after a 409/503.
    const settled = [...committed];
    let fundsTotal = funds.length;
    for (let i = 0; i < aborted.length; i++) {
      const o = await debit(db, path, 10);
      if (o.ok) settled.push(o);
      else if (o.kind === 'funds') fundsTotal += 1;
      else throw new Error(`uncontended debit aborted: ${o.message}`);
    }
    expect(settled).toHaveLength(20);
    expect(fundsTotal).toBe(30);
    expect((await db.doc(path).get()).get('balance')).toBe(0);
    expect(settled.map((o) => o.saw).sort((a, b) => b - a)).toEqual(Array.from({ length: 20 }, (_, i) => 200 - 10 * i));
  }, 180_000);
});
