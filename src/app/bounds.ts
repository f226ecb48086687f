/**
 * Bounds of money and scores, in whole units. The TypeBox schemas enforce them on input and
 * migration 003_money_rules.sql enforces the same numbers with CHECK constraints, so neither
 * a bug in a service nor a hand-written SQL statement can step outside them.
 *
 * 10^15 is well under 2^53: every balance, score and ledger amount stays an exact JavaScript
 * number, so a read can never fail to convert an int8 (which used to answer 500).
 */

/** Largest amount of one owner debit or admin credit. */
export const MAX_AMOUNT = 1_000_000_000_000;
/** Largest reward of one job (0 is allowed: a volunteer job). */
export const MAX_REWARD = 1_000_000_000_000;
/** Largest wallet balance: a credit or payout past it is refused (409 E_BALANCE_LIMIT). */
export const MAX_BALANCE = 1_000_000_000_000_000;
/** Largest leaderboard score: a completion past it saturates at the bound. */
export const MAX_SCORE = 1_000_000_000_000_000;
