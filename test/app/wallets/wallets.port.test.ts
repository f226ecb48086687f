/**
 * The wallets port's contract (wallets.data.ts), the same assertions on the SQL adapter and on
 * the Firestore adapter (emulator): balances, the ledger entry every change writes, the refusals
 * of wallets.rules.ts, and 50 concurrent debits that never overdraw.
 */
import { describe, expect, it } from 'vitest';
import { MAX_BALANCE } from '../../../src/app/bounds.ts';
import type { Bill } from '../../../src/app/db/firestore/bill.ts';
import { runTx } from '../../../src/app/db/firestore/contention.ts';
import { ConflictError, ContentionError, HttpError } from '../../../src/app/http/errors.ts';
import type { TransactionResult } from '../../../src/app/wallets/wallets.data.ts';
import { describePorts, ledgerSum, refusal } from '../../helpers/ports.ts';

const USERS = 120;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describePorts('wallets port on %s', { users: USERS }, (p) => {
  /** Brings the user's balance to exactly `target` through the port. */
  async function setBalance(userId: number, target: number): Promise<void> {
    const b = (await p.wallets.findBalance(userId)) ?? 0;
    if (b > target) await p.wallets.debit(userId, b - target);
    if (b < target) await p.wallets.adminCredit(userId, target - b);
    expect(await p.wallets.findBalance(userId)).toBe(target);
  }

  it('reads a balance: the signed sum of the seeded ledger; undefined without a wallet', async () => {
    for (const u of [1, 2, 60, USERS]) {
      const b = await p.wallets.findBalance(u);
      expect(Number.isSafeInteger(b)).toBe(true);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(ledgerSum(await p.inspect.ledger(u))).toBe(b);
    }
    expect(await p.wallets.findBalance(USERS + 1000)).toBeUndefined();
    expect(await p.wallets.findBalance(0)).toBeUndefined();
  });

  it('a debit and an admin credit move the balance and write one ledger entry each', async () => {
    const u = 3;
    await setBalance(u, 500);
    const before = await p.inspect.ledger(u);

    const d = await p.wallets.debit(u, 120);
    expect(d).toEqual({ transactionId: expect.any(Number) as number, type: 'debit', amount: 120, balance: 380, createdAt: expect.stringMatching(ISO) as string });
    const c = await p.wallets.adminCredit(u, 45);
    expect(c).toMatchObject({ type: 'admin_credit', amount: 45, balance: 425 });
    expect(c.createdAt).toMatch(ISO);
    expect(c.transactionId).not.toBe(d.transactionId);
    expect(await p.wallets.findBalance(u)).toBe(425);

    const after = await p.inspect.ledger(u);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).sort((a, b) => a.id - b.id)).toEqual(
      [
        { id: d.transactionId, type: 'debit', amount: 120, jobId: null },
        { id: c.transactionId, type: 'admin_credit', amount: 45, jobId: null },
      ].sort((a, b) => a.id - b.id),
    );
    expect(ledgerSum(after)).toBe(425);
  });

  it('refuses an overdraft (409 E_INSUFFICIENT_FUNDS), a missing wallet (404) and a balance past MAX_BALANCE (409 E_BALANCE_LIMIT), writing nothing', async () => {
    const u = 4;
    await setBalance(u, 100);
    const ledger = await p.inspect.ledger(u);
    expect(await refusal(p.wallets.debit(u, 101))).toEqual({ status: 409, code: 'E_INSUFFICIENT_FUNDS' });
    expect(await refusal(p.wallets.adminCredit(u, MAX_BALANCE - 99))).toEqual({ status: 409, code: 'E_BALANCE_LIMIT' });
    expect(await refusal(p.wallets.debit(USERS + 1000, 1))).toEqual({ status: 404, code: 'E_NOT_FOUND' });
    expect(await refusal(p.wallets.adminCredit(USERS + 1000, 1))).toEqual({ status: 404, code: 'E_NOT_FOUND' });
    expect(await p.wallets.findBalance(u)).toBe(100);
    expect(await p.inspect.ledger(u)).toEqual(ledger);
    // Up to the bound exactly, and down to 0 exactly.
    expect((await p.wallets.adminCredit(u, MAX_BALANCE - 100)).balance).toBe(MAX_BALANCE);
    expect((await p.wallets.debit(u, MAX_BALANCE)).balance).toBe(0);
  });

  it('50 concurrent debits of 10 on a balance of 200 never overdraw: the balance is the start minus the accepted debits, the others are 409 E_INSUFFICIENT_FUNDS or 503 E_CONTENTION', async () => {
    const u = 5;
    await setBalance(u, 200);
    const ledgerBefore = await p.inspect.ledger(u);

    const settled = await Promise.allSettled(Array.from({ length: 50 }, () => p.wallets.debit(u, 10)));
    const ok: TransactionResult[] = [];
    let funds = 0;
    const contended: HttpError[] = [];
    for (const s of settled) {
      if (s.status === 'fulfilled') {
        ok.push(s.value);
        continue;
      }
      const err: unknown = s.reason;
      // Nothing else may fail a debit: no 500, no driver error.
      expect(err).toBeInstanceOf(HttpError);
      const e = err as HttpError;
      if (e.statusCode === 409 && e.code === 'E_INSUFFICIENT_FUNDS') funds++;
      else if (e.statusCode === 503 && e.code === 'E_CONTENTION') {
        expect(e.headers['retry-after']).toBe('1');
        contended.push(e);
      } else throw new Error(`unexpected refusal ${e.statusCode} ${e.code}: ${e.message}`);
    }
    console.log(`[${p.name}] 50 concurrent debits: ${ok.length} committed, ${funds} insufficient funds, ${contended.length} contention`);
    expect(ok.length + funds + contended.length).toBe(50);
    expect(ok.length).toBeLessThanOrEqual(20);
    if (p.name === 'sql') expect(contended).toHaveLength(0); // rows serialize on their lock
    if (ok.length < 20) expect(contended.length).toBeGreaterThan(0); // only contention may stop a debit that had the money
    // Never below 0; exactly what the accepted debits took; each saw a different balance (no lost update).
    expect(await p.wallets.findBalance(u)).toBe(200 - 10 * ok.length);
    expect(ok.map((r) => r.balance).sort((a, b) => b - a)).toEqual(Array.from({ length: ok.length }, (_, i) => 190 - 10 * i));
    // One ledger entry per accepted debit, none for a refused one.
    const ledgerAfter = await p.inspect.ledger(u);
    expect(ledgerAfter.slice(0, ledgerBefore.length)).toEqual(ledgerBefore);
    expect(ledgerAfter.slice(ledgerBefore.length).map((r) => r.id).sort((a, b) => a - b)).toEqual(ok.map((r) => r.transactionId).sort((a, b) => a - b));
    expect(ledgerSum(ledgerAfter)).toBe(200 - 10 * ok.length);

    // A client retrying the contended ones later, one at a time: exactly 20 debits in all.
    let total = ok.length;
    for (let i = 0; i < contended.length; i++) {
      const r = await p.wallets.debit(u, 10).then(
        () => true,
        (err: unknown) => {
          expect(err).toMatchObject({ statusCode: 409, code: 'E_INSUFFICIENT_FUNDS' });
          return false;
        },
      );
      if (r) total++;
    }
    expect(total).toBe(Math.min(20, ok.length + contended.length));
    expect(await p.wallets.findBalance(u)).toBe(200 - 10 * total);
  }, 240_000);

  // Billing is Firestore's: the SQL adapters count rows, checked in the HTTP suites.
  if (p.name === 'firestore') it('bills one read and two writes per debit (wallet, ledger entry)', async () => {
    const { bill } = p.requireFirestore();
    await setBalance(6, 50);
    const before = bill.snapshot().wallets ?? { reads: 0, writes: 0, deletes: 0 };
    await p.wallets.debit(6, 5);
    const after = bill.snapshot().wallets ?? { reads: 0, writes: 0, deletes: 0 };
    expect({ reads: after.reads - before.reads, writes: after.writes - before.writes }).toEqual({ reads: 1, writes: 2 });
  });
});

describe('contention on Firestore', () => {
  it('a transaction still ABORTED (gRPC 10) after the client\'s retries is 503 E_CONTENTION with Retry-After: 1; domain errors pass through', async () => {
    const aborted = Object.assign(new Error('10 ABORTED: Transaction lock timeout.'), { code: 10 });
    const bill = { tx: () => Promise.reject(aborted) } as unknown as Bill;
    const err: unknown = await runTx(bill, 'wallets', async () => 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContentionError);
    expect(err).toMatchObject({ statusCode: 503, code: 'E_CONTENTION', headers: { 'retry-after': '1' }, cause: aborted });
    const domain = new ConflictError('E_INSUFFICIENT_FUNDS', 'no');
    const billDomain = { tx: () => Promise.reject(domain) } as unknown as Bill;
    expect(await runTx(billDomain, 'wallets', async () => 1).catch((e: unknown) => e)).toBe(domain);
  });
});
