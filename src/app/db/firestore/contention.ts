/**
 * Contention on Firestore: a transaction that still fails with gRPC ABORTED (code 10) after the
 * client's own retries (maxAttempts 5, backoff from 1 s) lost to concurrent writers of the same
 * documents, and nothing of it was written. It reaches the HTTP client as 503 E_CONTENTION with
 * `Retry-After: 1` (ContentionError), never as a 500. Production Firestore ("Too much contention
 * on these documents") and the emulator ("Transaction lock timeout") both use code 10.
 */
import type { BilledTransaction, Bill } from './bill.ts';
import { ContentionError } from '../../http/errors.ts';

/** gRPC status ABORTED, as the Firestore client reports it (a number, unlike the app's string codes). */
export const GRPC_ABORTED = 10;

export function isContention(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === GRPC_ABORTED;
}

/**
 * `bill.tx` with contention mapped to ContentionError. Domain errors thrown by `fn` (HttpErrors,
 * with string codes, which the client does not retry) pass through unchanged.
 */
export async function runTx<Domain extends string, T>(bill: Bill<Domain>, domain: Domain, fn: (tx: BilledTransaction) => Promise<T>): Promise<T> {
  try {
    return await bill.tx(domain, fn);
  } catch (err) {
    if (isContention(err)) throw new ContentionError(undefined, { cause: err });
    throw err;
  }
}

/** Awaits `work` (a `bill.tx(...)` or other transaction), turning a final ABORTED into ContentionError. */
export async function orContention<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (isContention(err)) throw new ContentionError(undefined, { cause: err });
    throw err;
  }
}
