/**
 * The PostgreSQL/PGlite adapter of the wallets port (wallets.data.ts). Balance changes are
 * single conditional UPDATEs: the check and the write are one statement on the locked row, so
 * concurrent debits serialise on the row and none can overdraw (the CHECK (balance BETWEEN 0
 * AND 10^15) constraint backs this up). `applyLedgerSql` also serves the jobs adapter, inside
 * its own transaction.
 */
import { MAX_BALANCE } from '../bounds.ts';
import type { Database, DbTx } from '../db/database.ts';
import type { LedgerType, TransactionResult, WalletsData } from './wallets.data.ts';
import { LEDGER_SIGN, ledgerRefusal, type LedgerMove } from './wallets.rules.ts';

const Q = { domain: 'wallets' } as const;

async function findBalance(db: DbTx, userId: number): Promise<number | undefined> {
  const { rows } = await db.query<{ balance: number }>('SELECT balance FROM wallets WHERE user_id = $1', [userId], Q);
  return rows[0]?.balance;
}

/**
 * Applies the change if the result stays within [0, max]; the new balance, or undefined when
 * the wallet does not exist or the condition failed (tell them apart with findBalance).
 */
async function applyChange(tx: DbTx, userId: number, delta: number, max: number): Promise<number | undefined> {
  const { rows } = await tx.query<{ balance: number }>(
    `UPDATE wallets SET balance = balance + $2, updated_at = now()
      WHERE user_id = $1 AND balance + $2 >= 0 AND balance + $2 <= $3
      RETURNING balance`,
    [userId, delta, max],
    Q,
  );
  return rows[0]?.balance;
}

async function insertTransaction(
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

/**
 * In the caller's transaction: applies the move within [0, MAX_BALANCE] and writes its ledger
 * row (tied to `jobId` when a job moved the money). Throws `ledgerRefusal` (wallets.rules.ts).
 */
export async function applyLedgerSql(tx: DbTx, move: LedgerMove, jobId: number | null = null): Promise<TransactionResult> {
  const { userId, type, amount } = move;
  const balance = await applyChange(tx, userId, LEDGER_SIGN[type] * amount, MAX_BALANCE);
  if (balance === undefined) throw ledgerRefusal(userId, await findBalance(tx, userId), type, amount);
  const row = await insertTransaction(tx, userId, type, amount, jobId);
  return { transactionId: row.id, type, amount, balance, createdAt: row.createdAt };
}

export function createSqlWalletsData(db: Database): WalletsData {
  return {
    findBalance: (userId) => findBalance(db, userId),
    debit: (userId, amount) => db.transaction((tx) => applyLedgerSql(tx, { userId, type: 'debit', amount })),
    adminCredit: (userId, amount) => db.transaction((tx) => applyLedgerSql(tx, { userId, type: 'admin_credit', amount })),
  };
}
