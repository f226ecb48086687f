/**
 * SQL of the wallets domain. Balance changes are single conditional UPDATEs: the check and the
 * write are one statement on the locked row, so concurrent debits serialise on the row and
 * none can overdraw (the CHECK (balance >= 0) constraint backs this up).
 */
import type { DbTx } from '../db/database.ts';

const Q = { domain: 'wallets' } as const;

export type TransactionType = 'credit' | 'debit';

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

export async function insertTransaction(tx: DbTx, userId: number, type: TransactionType, amount: number): Promise<{ id: number; createdAt: string }> {
  const { rows } = await tx.query<{ id: number; created_at: Date }>(
    'INSERT INTO wallet_transactions (user_id, type, amount) VALUES ($1, $2, $3) RETURNING id, created_at',
    [userId, type, amount],
    Q,
  );
  const row = rows[0];
  if (row === undefined) throw new Error('INSERT ... RETURNING returned no row');
  return { id: row.id, createdAt: row.created_at.toISOString() };
}
