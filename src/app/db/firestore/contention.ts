/**
 * Contention on Firestore: a transaction that still fails with gRPC status 10 (ABORTED) after
 * the client's own retries (test/app/db/firestore/transactions.test.ts records what that looks
 * like) reaches the caller as ContentionError (503, Retry-After: 1), never as a 500. Nothing
 * was committed by an aborted transaction, so a retry neither loses nor doubles a write.
 */
import { ContentionError } from '../../http/errors.ts';

/** gRPC status ABORTED, as the client reports it (a number). */
const ABORTED = 10;

export function isContention(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === ABORTED;
}

/** Awaits `work`, turning a final ABORTED into ContentionError. */
export async function orContention<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isContention(err)) throw new ContentionError({ cause: err });
    throw err;
  }
}
