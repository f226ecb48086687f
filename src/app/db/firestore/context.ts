/** What every Firestore adapter (`<domain>/<domain>.firestore.ts`) is built from. */
import type { Firestore } from '@google-cloud/firestore';
import { createBill, type Bill } from './bill.ts';
import { IdAllocator } from './ids.ts';
import { refs, type IdCounter, type Refs } from './model.ts';

/** What every Firestore adapter is built from. */
export interface FirestoreContext {
  readonly firestore: Firestore;
  /** The one bill counter of this process; label each call with the adapter's domain. */
  readonly bill: Bill;
  readonly refs: Refs;
  /** Integer ids from `counters/{name}`, in blocks (ids.ts); one allocator per counter and process. */
  ids(name: IdCounter): IdAllocator<string>;
}

export function createFirestoreContext(firestore: Firestore): FirestoreContext {
  const bill = createBill(firestore);
  const allocators = new Map<IdCounter, IdAllocator<string>>();
  return {
    firestore,
    bill,
    refs: refs(firestore),
    ids(name) {
      let a = allocators.get(name);
      if (a === undefined) {
        a = new IdAllocator(firestore, bill, 'ids', name);
        allocators.set(name, a);
      }
      return a;
    },
  };
}
