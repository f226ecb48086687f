/**
 * The Firestore adapter of the wallets port (wallets.data.ts), on `wallets/{userId}` and its
 * `ledger` subcollection (docs/firestore.md, "Money"). Every balance change is ONE transaction
 * that reads the wallet, applies `planLedger` (wallets.rules.ts: never below 0, never past
 * MAX_BALANCE), updates the balance and creates the ledger entry: concurrent debits of one
 * wallet serialize on its document, so none can overdraw and no entry is lost or doubled. The
 * entry's id is reserved from `counters/ledger` BEFORE the transaction (ids.ts), so a retried
 * attempt writes the same entry id instead of contending on the counter. Contention that
 * outlasts the client's retries is 503 E_CONTENTION (contention.ts), never a 500.
 *
 * The helpers below (`readWallets`, `planLedgerMoves`, `writeLedger`, `withLedgerIds`) also
 * serve the jobs adapter, whose transactions move money together with the job: the
 * counterpart of `applyLedgerSql`, split into a read, a plan and a write because a Firestore
 * transaction does every read before its first write.
 */
import { Timestamp } from '@google-cloud/firestore';
import type { BilledTransaction } from '../db/firestore/bill.ts';
import { runTx } from '../db/firestore/contention.ts';
import type { FirestoreContext } from '../db/firestore/context.ts';
import type { Refs } from '../db/firestore/model.ts';
import { toIso } from '../db/firestore/model.ts';
import type { TransactionResult, WalletsData } from './wallets.data.ts';
import { planLedger, type LedgerMove } from './wallets.rules.ts';

const DOMAIN = 'wallets';

/** True when `id` can name a document of an integer-keyed collection (else: no such document). */
export function isDocId(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 1;
}

/** The balances of these wallets as read in the transaction (undefined: no wallet). One billed read per wallet. */
export async function readWallets(tx: BilledTransaction, refs: Refs, userIds: readonly number[]): Promise<Map<number, number | undefined>> {
  const ids = [...new Set(userIds)];
  const out = new Map<number, number | undefined>(ids.map((id) => [id, undefined]));
  const valid = ids.filter(isDocId);
  const snaps = await tx.getAll(...valid.map((id) => refs.wallet(id)));
  valid.forEach((id, i) => out.set(id, snaps[i]?.data()?.balance));
  return out;
}

/**
 * The plan needed more ledger ids than were reserved before the transaction: thrown inside it
 * (a string code, so the client does not retry it), caught by `withLedgerIds`, which reserves
 * more and runs the transaction again.
 */
export class LedgerIdShortage extends Error {
  readonly code = 'E_LEDGER_IDS';
  constructor(readonly needed: number) {
    super(`a transaction needs ${needed} ledger ids`);
  }
}

/** One ledger entry a transaction writes, with the balance after it. */
export interface PlannedEntry {
  id: number;
  move: LedgerMove;
  balance: number;
}

export interface LedgerPlan {
  entries: PlannedEntry[];
  /** Each moved wallet's balance after all the moves. */
  balances: Map<number, number>;
}

/**
 * Applies `planLedger` to each move in order, on the balances read in the transaction: throws
 * its refusal (404 without a wallet, 409 E_INSUFFICIENT_FUNDS, 409 E_BALANCE_LIMIT) at the first
 * move that cannot apply, so nothing is written. `ids` are the reserved ledger ids, one per move.
 */
export function planLedgerMoves(current: ReadonlyMap<number, number | undefined>, moves: readonly LedgerMove[], ids: readonly number[]): LedgerPlan {
  if (moves.length > ids.length) throw new LedgerIdShortage(moves.length);
  const balances = new Map<number, number>();
  const entries = moves.map((move, i): PlannedEntry => {
    const balance = planLedger(balances.get(move.userId) ?? current.get(move.userId), move);
    balances.set(move.userId, balance);
    return { id: ids[i] as number, move, balance };
  });
  return { entries, balances };
}

/** Writes the planned balances and one ledger entry per move (`create`: an entry is never overwritten). */
export function writeLedger(tx: BilledTransaction, refs: Refs, plan: LedgerPlan, jobId: number | null, now: Timestamp): void {
  for (const [userId, balance] of plan.balances) tx.update(refs.wallet(userId), { balance, updatedAt: now });
  for (const { id, move } of plan.entries) {
    tx.create(refs.ledgerEntry(move.userId, id), { id, userId: move.userId, type: move.type, amount: move.amount, jobId, createdAt: now });
  }
}

async function reserveLedgerIds(ctx: FirestoreContext, count: number): Promise<number[]> {
  const alloc = ctx.ids('ledger');
  return Promise.all(Array.from({ length: count }, () => alloc.nextId()));
}

/**
 * Runs `fn` with `expected` ledger ids reserved before it (so every retry of its transaction
 * reuses them); when the plan turns out to need more (`LedgerIdShortage`), reserves the rest
 * and runs it again. Unused ids are gaps, as in an SQL sequence.
 */
export async function withLedgerIds<T>(ctx: FirestoreContext, expected: number, fn: (ids: readonly number[]) => Promise<T>): Promise<T> {
  let ids = await reserveLedgerIds(ctx, expected);
  for (;;) {
    try {
      return await fn(ids);
    } catch (err) {
      if (!(err instanceof LedgerIdShortage)) throw err;
      ids = [...ids, ...(await reserveLedgerIds(ctx, err.needed - ids.length))];
    }
  }
}

/** One move on one wallet, in its own transaction: the debit and the operator's credit. */
async function applyMove(ctx: FirestoreContext, move: LedgerMove): Promise<TransactionResult> {
  return withLedgerIds(ctx, 1, (ids) =>
    runTx(ctx.bill, DOMAIN, async (tx) => {
      const plan = planLedgerMoves(await readWallets(tx, ctx.refs, [move.userId]), [move], ids);
      const now = Timestamp.now();
      writeLedger(tx, ctx.refs, plan, null, now);
      const entry = plan.entries[0] as PlannedEntry;
      return { transactionId: entry.id, type: move.type, amount: move.amount, balance: entry.balance, createdAt: toIso(now) };
    }),
  );
}

export function createFirestoreWalletsData(ctx: FirestoreContext): WalletsData {
  return {
    async findBalance(userId) {
      if (!isDocId(userId)) return undefined;
      return (await ctx.bill.get(DOMAIN, ctx.refs.wallet(userId))).data()?.balance;
    },
    debit: (userId, amount) => applyMove(ctx, { userId, type: 'debit', amount }),
    adminCredit: (userId, amount) => applyMove(ctx, { userId, type: 'admin_credit', amount }),
  };
}
