/** A transaction ABORTED past the client's retries becomes a typed 503; every other failure passes through unchanged. */
import { expect, it } from 'vitest';
import { GRPC_ABORTED, isContention, orContention } from '../../../../src/app/db/firestore/contention.ts';
import { ConflictError, ContentionError, HttpError } from '../../../../src/app/http/errors.ts';

it('turns gRPC ABORTED into ContentionError (503 E_CONTENTION, Retry-After: 1), keeping the cause', async () => {
  const aborted = Object.assign(new Error('10 ABORTED: too much contention'), { code: GRPC_ABORTED });
  expect(isContention(aborted)).toBe(true);
  const err: unknown = await orContention(Promise.reject(aborted)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ContentionError);
  expect(err).toBeInstanceOf(HttpError);
  expect(err).toMatchObject({ statusCode: 503, code: 'E_CONTENTION', headers: { 'retry-after': '1' }, cause: aborted });
});

it('passes results, domain errors (string codes) and other gRPC failures through', async () => {
  expect(await orContention(Promise.resolve(7))).toBe(7);
  const conflict = new ConflictError('E_ALREADY_MEMBER', 'already');
  await expect(orContention(Promise.reject(conflict))).rejects.toBe(conflict);
  const unavailable = Object.assign(new Error('14 UNAVAILABLE'), { code: 14 });
  await expect(orContention(Promise.reject(unavailable))).rejects.toBe(unavailable);
  for (const x of [undefined, null, 'ABORTED', { code: '10' }]) expect(isContention(x)).toBe(false);
});
