/**
 * Contention past the client's retries. `runTransaction` retries an attempt that the server
 * aborted (gRPC ABORTED, code 10) a few times, then rejects with that error; nothing of the
 * transaction was written. Left alone it would be a 500; docs/firestore.md and issue 11 want a
 * typed 503 with `Retry-After`, so every adapter's `bill.tx` goes through `withContention`.
 */
import { ContentionError } from '../../http/errors.ts';

/** gRPC status ABORTED. */
export const GRPC_ABORTED = 10;

/** True for the error a transaction rejects with when it was aborted on every attempt. */
export function isAborted(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === GRPC_ABORTED;
}

/** Runs `tx` (a `bill.tx(...)` call); an ABORTED failure becomes a ContentionError (503 E_CONTENTION). */
export async function withContention<T>(tx: () => Promise<T>): Promise<T> {
  try {
    return await tx();
  } catch (err) {
    if (isAborted(err)) throw new ContentionError({ cause: err });
    throw err;
  }
}
