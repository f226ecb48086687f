/**
 * SQL of the wallets domain. Balance changes are single conditional UPDATEs: the check and the
 * write are one statement on the locked row, so concurrent debits serialise on the row and
 * none can overdraw (the CHECK (balance BETWEEN 0 AND 10^15) constraint backs this up).
 */
import type { DbTx } from '../db/database.ts';

const Q = { domain: 'wallets' } as const;

/**
 * Ledger row types (migration 003). `credit` is legacy (owners can no longer credit
 * themselves) and `correction` is only written by that migration; the others are written here.
 */
export type LedgerType = 'credit' | 'debit' | 'hold' | 'release' | 'reward' | 'admin_credit' | 'correction';
/** What the owner's own route accepts: `credit` only so that it can be refused with a clear 403. */
export type TransactionType = 'credit' | 'debit';

/** +1 when the row adds to the balance, -1 when it takes from it. */
export const LEDGER_SIGN: Record<LedgerType, 1 | -1> = {
  credit: 1,
  release: 1,
  reward: 1,
  admin_credit: 1,
  debit: -1,
  hold: -1,
  correction: -1,
};

export async function findBalance(db: DbTx, userId: number): Promise<number | undefined> {
  const { rows } = await db.query<{ balance: number }>('SELECT balance FROM wallets WHERE user_id = $1', [userId], Q);
  return rows[0]?.balance;
}

/**
 * Applies the change if the result stays within [0, max]; the new balance, or undefined when
 * the wallet does not exist or the condition failed (tell them apart with findBalance).
 */
export async function applyChange(tx: DbTx, userId: number, delta: number, max: number): Promise<number | undefined> {
  const { rows } = await tx.query<{ balance: number }>(
    `UPDATE wallets SET balance = balance + $2, updated_at = now()
      WHERE user_id = $1 AND balance + $2 >= 0 AND balance + $2 <= $3
      RETURNING balance`,
    [userId, delta, max],
    Q,
  );
  return rows[0]?.balance;
}

export async function insertTransaction(
  tx: DbTx,
  userId: number,
  type: LedgerType,
  amount: number,
  jobId: number | null = null,
): Promise<{ id: number; createdAt: string }> {
  const { rows } = await tx.query<{ id: number; created_at: Date }>(
    'INSERT INTO wallet_transactions (user_id, type, amount, job_id) VALUES ($1, $2, $3, $4) RETURNING id, created_at',
    [userId, type, amount, jobId],
    Q,
  );
  const row = rows[0];
  if (row === undefined) throw new Error('INSERT ... RETURNING returned no row');
  return { id: row.id, createdAt: row.created_at.toISOString() };
}
