/**
 * Balance rules, shared by every adapter: a balance stays within [0, MAX_BALANCE], and each
 * ledger type moves it one way. A Firestore adapter reads the balance in its transaction and
 * applies `planLedger`; the SQL adapter checks the same bounds in one conditional UPDATE and
 * asks `ledgerRefusal` for the error when it matched no row.
 */
import { MAX_BALANCE } from '../bounds.ts';
import { ConflictError, type HttpError, NotFoundError } from '../http/errors.ts';
import type { LedgerType } from './wallets.data.ts';

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

/** One balance change a write plans (`amount` > 0; the sign comes from `type`). */
export interface LedgerMove {
  userId: number;
  type: LedgerType;
  amount: number;
}

/**
 * Why a change of `amount` by `type` cannot apply to a wallet whose balance is `current`
 * (undefined: no wallet): 404, 409 E_INSUFFICIENT_FUNDS for a withdrawal, 409 E_BALANCE_LIMIT
 * for a deposit.
 */
export function ledgerRefusal(userId: number, current: number | undefined, type: LedgerType, amount: number): HttpError {
  if (current === undefined) return new NotFoundError('Wallet');
  if (LEDGER_SIGN[type] < 0) return new ConflictError('E_INSUFFICIENT_FUNDS', `Balance ${current} is less than ${amount}`);
  return new ConflictError('E_BALANCE_LIMIT', `This would take the balance of user ${userId} past ${MAX_BALANCE}`);
}

/** The balance after the move, or throws `ledgerRefusal` when it would leave [0, MAX_BALANCE] or there is no wallet. */
export function planLedger(current: number | undefined, move: LedgerMove): number {
  if (current !== undefined) {
    const next = current + LEDGER_SIGN[move.type] * move.amount;
    if (next >= 0 && next <= MAX_BALANCE) return next;
  }
  throw ledgerRefusal(move.userId, current, move.type, move.amount);
}
