/**
 * The port of the wallets domain. Every balance change is one atomic operation that also
 * writes its ledger row; the bounds and refusals are wallets.rules.ts. The SQL adapter is
 * wallets.sql.ts. Job holds, releases and rewards are not here: they move with the job, in
 * the jobs port's atomic operations.
 */

/**
 * Ledger row types (migration 003). `credit` is legacy (owners can no longer credit
 * themselves) and `correction` is only written by that migration; the others are written by
 * the adapters.
 */
export type LedgerType = 'credit' | 'debit' | 'hold' | 'release' | 'reward' | 'admin_credit' | 'correction';
/** What the owner's own route accepts: `credit` only so that it can be refused with a clear 403. */
export type TransactionType = 'credit' | 'debit';

/** One balance change as written to the ledger. */
export interface TransactionResult {
  transactionId: number;
  type: LedgerType;
  amount: number;
  /** The balance after the change. */
  balance: number;
  createdAt: string;
}

export interface WalletsData {
  /** The balance, or undefined when the user has no wallet. */
  findBalance(userId: number): Promise<number | undefined>;
  /**
   * Takes `amount` (> 0) from the wallet and writes a `debit` row, atomically. Throws as
   * `planLedger` (wallets.rules.ts): 404 without a wallet, 409 E_INSUFFICIENT_FUNDS.
   */
  debit(userId: number, amount: number): Promise<TransactionResult>;
  /** The operator's credit (`admin_credit` row), atomically; 404 without a wallet, 409 E_BALANCE_LIMIT past MAX_BALANCE. */
  adminCredit(userId: number, amount: number): Promise<TransactionResult>;
}
