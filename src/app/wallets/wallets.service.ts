/**
 * Wallets. The balance is cached per owner (`wallet:{userId}:balance`, 30 s) and only ever
 * read by that owner: the 403 comes before the cache is touched. A transaction never reads the
 * cache: the balance check and the write are one atomic operation of the data port, and the
 * cached balance is deleted after it.
 *
 * Money only enters a wallet from somewhere accountable: a job's reward (paid out of the hold
 * its owner funded, jobs.service.ts) or the operator's admin credit. An owner may spend
 * (debit) but never credit their own wallet. Every balance change writes one ledger row.
 */
import { CacheKeys } from '../../cache/index.ts';
import { MAX_AMOUNT } from '../bounds.ts';
import { READ_OPTIONS } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { ForbiddenError, NotFoundError } from '../http/errors.ts';
import type { TransactionResult, TransactionType } from './wallets.data.ts';

export type { LedgerType, TransactionResult, TransactionType } from './wallets.data.ts';
export { MAX_AMOUNT };

function assertOwner(actorId: number, userId: number): void {
  if (actorId !== userId) throw new ForbiddenError('A wallet is visible to its owner only');
}

export async function getBalance(deps: AppDeps, actorId: number, userId: number): Promise<ReadResult<{ balance: number }>> {
  assertOwner(actorId, userId);
  return deps.cacheAccess.read(
    CacheKeys.walletBalance(userId),
    async () => {
      const balance = await deps.data.wallets.findBalance(userId);
      if (balance === undefined) throw new NotFoundError('Wallet');
      return { balance };
    },
    READ_OPTIONS.walletBalance,
  );
}

/** The owner's own route: debits only; a credit is refused (403 E_SELF_CREDIT), since it would mint money. */
export async function addTransaction(deps: AppDeps, actorId: number, userId: number, type: TransactionType, amount: number): Promise<TransactionResult> {
  assertOwner(actorId, userId);
  if (type === 'credit') {
    throw new ForbiddenError('A wallet is credited by job rewards or by an operator, never by its owner', 'E_SELF_CREDIT');
  }
  const result = await deps.data.wallets.debit(userId, amount);
  await deps.cacheAccess.invalidate(CacheKeys.walletBalance(userId));
  return result;
}

/** The operator's credit (the admin route has already checked ADMIN_TOKEN). */
export async function adminCredit(deps: AppDeps, userId: number, amount: number): Promise<TransactionResult> {
  const result = await deps.data.wallets.adminCredit(userId, amount);
  await deps.cacheAccess.invalidate(CacheKeys.walletBalance(userId));
  return result;
}
