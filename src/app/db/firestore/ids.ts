/**
 * Integer ids on Firestore, handed out in blocks ("hi/lo").
 *
 * The routes address users, guilds, jobs, chats and notifications by positive integer ids, so
 * Firestore's random 20-character ids are not an option. One counter document per collection
 * (`counters/{name}`, `{ last }`) is the source; but a counter document incremented once per
 * new row would cap every chat message, ledger entry and notification of the whole backend at
 * Firestore's sustained ~1 write/second per document, and a wallet debit that also bumped the
 * counter inside its transaction would contend with every other debit. So each process
 * reserves a block of ids in one short transaction and hands them out from memory: the counter
 * is written once per `blockSize` ids per process. Ids are unique and positive; like SQL
 * sequences they may have gaps (a process that stops loses the rest of its block) and they are
 * not time-ordered across processes — which is why messages and notifications are ordered by
 * `createdAt` (ties by id), never by id alone.
 *
 * Reserve the id before the business transaction, not inside it: an aborted or retried
 * transaction then only wastes an id instead of contending on the counter.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Bill } from './bill.ts';
import { refs, type IdCounter } from './model.ts';

/** Reserves `count` ids from `counters/{name}` in one transaction; returns the first (the block is first .. first + count - 1). */
export async function reserveIds<Domain extends string>(db: Firestore, bill: Bill<Domain>, domain: Domain, name: IdCounter, count: number): Promise<number> {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const ref = refs(db).counter(name);
  return bill.tx(domain, async (tx) => {
    const snap = await tx.get(ref);
    const last = snap.data()?.last ?? 0;
    const next = last + count;
    if (!Number.isSafeInteger(next)) throw new RangeError(`counter ${name} would pass 2^53`);
    tx.set(ref, { last: next });
    return last + 1;
  });
}

/** Hands out ids of one counter from blocks reserved with `reserveIds`. One per process and counter. */
export class IdAllocator<Domain extends string> {
  private next = 0;
  private end = 0;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly db: Firestore,
    private readonly bill: Bill<Domain>,
    private readonly domain: Domain,
    private readonly name: IdCounter,
    /** Ids per reservation: the counter document sees one write per this many ids. */
    private readonly blockSize = 100,
  ) {}

  async nextId(): Promise<number> {
    while (this.next >= this.end) {
      // One reservation at a time: concurrent callers wait for it instead of each reserving.
      this.pending ??= reserveIds(this.db, this.bill, this.domain, this.name, this.blockSize)
        .then((first) => {
          this.next = first;
          this.end = first + this.blockSize;
        })
        .finally(() => {
          this.pending = undefined;
        });
      await this.pending;
    }
    return this.next++;
  }
}
