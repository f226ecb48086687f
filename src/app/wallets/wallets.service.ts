/**
 * Wallets. The balance is cached per owner (`wallet:{userId}:balance`, 30 s) and only ever
 * read by that owner: the 403 comes before the cache is touched. A transaction never reads the
 * cache: the balance check and the write are one conditional UPDATE inside the database
 * transaction, and the cached balance is deleted after the commit.
 *
 * Money only enters a wallet from somewhere accountable: a job's reward (paid out of the hold
 * its owner funded, jobs.service.ts) or the operator's admin credit. An owner may spend
 * (debit) but never credit their own wallet. Every balance change writes one ledger row.
 */
import { CacheKeys } from '../../cache/index.ts';
import { MAX_AMOUNT, MAX_BALANCE } from '../bounds.ts';
import { READ_OPTIONS } from '../cache-policy.ts';
import type { DbTx } from '../db/database.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../http/errors.ts';
import * as q from './wallets.queries.ts';

export type { LedgerType, TransactionType } from './wallets.queries.ts';
export { MAX_AMOUNT };

function assertOwner(actorId: number, userId: number): void {
  if (actorId !== userId) throw new ForbiddenError('A wallet is visible to its owner only');
}

export async function getBalance(deps: AppDeps, actorId: number, userId: number): Promise<ReadResult<{ balance: number }>> {
  assertOwner(actorId, userId);
  return deps.cacheAccess.read(
    CacheKeys.walletBalance(userId),
    async () => {
      const balance = await q.findBalance(deps.db, userId);
      if (balance === undefined) throw new NotFoundError('Wallet');
      return { balance };
    },
    READ_OPTIONS.walletBalance,
  );
}

export interface TransactionResult {
  transactionId: number;
  type: q.LedgerType;
  amount: number;
  balance: number;
  createdAt: string;
}

/**
 * In the caller's transaction: moves `amount` (> 0) in or out of the wallet by the sign of
 * `type` and writes the ledger row. Throws 409 E_INSUFFICIENT_FUNDS when a withdrawal would
 * go below 0, 409 E_BALANCE_LIMIT when a deposit would pass MAX_BALANCE, 404 without a wallet.
 */
export async function applyLedger(tx: DbTx, userId: number, type: q.LedgerType, amount: number, jobId: number | null = null): Promise<TransactionResult> {
  const sign = q.LEDGER_SIGN[type];
  const balance = await q.applyChange(tx, userId, sign * amount, MAX_BALANCE);
  if (balance === undefined) {
    const current = await q.findBalance(tx, userId);
    if (current === undefined) throw new NotFoundError('Wallet');
    if (sign < 0) throw new ConflictError('E_INSUFFICIENT_FUNDS', `Balance ${current} is less than ${amount}`);
    throw new ConflictError('E_BALANCE_LIMIT', `This would take the balance of user ${userId} past ${MAX_BALANCE}`);
  }
  const row = await q.insertTransaction(tx, userId, type, amount, jobId);
  return { transactionId: row.id, type, amount, balance, createdAt: row.createdAt };
}

/** The owner's own route: debits only; a credit is refused (403 E_SELF_CREDIT), since it would mint money. */
export async function addTransaction(deps: AppDeps, actorId: number, userId: number, type: q.TransactionType, amount: number): Promise<TransactionResult> {
  assertOwner(actorId, userId);
  if (type === 'credit') {
    throw new ForbiddenError('A wallet is credited by job rewards or by an operator, never by its owner', 'E_SELF_CREDIT');
  }
  const result = await deps.db.transaction((tx) => applyLedger(tx, userId, 'debit', amount));
  await deps.cacheAccess.invalidate(CacheKeys.walletBalance(userId));
  return result;
}

/** The operator's credit (the admin route has already checked ADMIN_TOKEN). */
export async function adminCredit(deps: AppDeps, userId: number, amount: number): Promise<TransactionResult> {
  const result = await deps.db.transaction((tx) => applyLedger(tx, userId, 'admin_credit', amount));
  await deps.cacheAccess.invalidate(CacheKeys.walletBalance(userId));
  return result;
}
