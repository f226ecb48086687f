/**
 * Wallets. The balance is cached per owner (`wallet:{userId}:balance`, 30 s) and only ever
 * read by that owner: the 403 comes before the cache is touched. A transaction never reads the
 * cache: the balance check and the write are one conditional UPDATE inside the database
 * transaction, and the cached balance is deleted after the commit.
 */
import { CacheKeys } from '../../cache/index.ts';
import { READ_OPTIONS } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../http/errors.ts';
import * as q from './wallets.queries.ts';

export type { TransactionType } from './wallets.queries.ts';

/** Largest amount per transaction (integer minor units). */
export const MAX_AMOUNT = 1_000_000_000_000;
/** Balances stay exact JavaScript numbers. */
const MAX_BALANCE = Number.MAX_SAFE_INTEGER;

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
  type: q.TransactionType;
  amount: number;
  balance: number;
  createdAt: string;
}

export async function addTransaction(deps: AppDeps, actorId: number, userId: number, type: q.TransactionType, amount: number): Promise<TransactionResult> {
  assertOwner(actorId, userId);
  const result = await deps.db.transaction(async (tx) => {
    const balance = await q.applyChange(tx, userId, type === 'credit' ? amount : -amount, MAX_BALANCE);
    if (balance === undefined) {
      const current = await q.findBalance(tx, userId);
      if (current === undefined) throw new NotFoundError('Wallet');
      if (type === 'debit') throw new ConflictError('E_INSUFFICIENT_FUNDS', `Balance ${current} is less than ${amount}`);
      throw new ConflictError('E_BALANCE_LIMIT', 'This credit would take the balance past the largest amount supported');
    }
    const row = await q.insertTransaction(tx, userId, type, amount);
    return { transactionId: row.id, type, amount, balance, createdAt: row.createdAt };
  });
  await deps.cacheAccess.invalidate(CacheKeys.walletBalance(userId));
  return result;
}
