/**
 * Bill counter: counts, per domain label ("wallets", "users"...), the operations Firestore
 * bills, so tests and benches can state what a request costs. The future adapters do every
 * Firestore call through these thin wrappers.
 *
 * Firestore's billing rules, as counted here:
 *  - one read per document a get, getAll or query returns; a get of a missing document is one
 *    read too (the snapshot with exists=false), and a query that returns nothing is one read;
 *  - an aggregation (`count()`) is one read per started batch of 1,000 index entries it
 *    matched, at least one;
 *  - one write per create/set/update, one delete per delete (counted per operation sent:
 *    field transforms ride on their write, and deleting a missing document still costs one);
 *  - inside a transaction, reads count as they happen, on every attempt (an aborted attempt's
 *    reads are billed); writes count once, when the commit succeeds (only the last attempt's);
 *  - a batch counts its writes when commit() succeeds (batches are atomic); a BulkWriter counts
 *    each write when that write succeeds.
 * Not seen by the counter: documents skipped by `offset()` (billed as reads: page with cursors),
 * listeners, and reads/writes made without these wrappers.
 */
import type {
  BulkWriter,
  BulkWriterOptions,
  DocumentData,
  DocumentReference,
  DocumentSnapshot,
  Firestore,
  PartialWithFieldValue,
  Precondition,
  Query,
  QuerySnapshot,
  ReadOnlyTransactionOptions,
  ReadWriteTransactionOptions,
  SetOptions,
  Transaction,
  UpdateData,
  WithFieldValue,
  WriteBatch,
  WriteResult,
} from '@google-cloud/firestore';

/** What one domain has been billed. */
export interface BillLine {
  reads: number;
  writes: number;
  deletes: number;
}

/** Index entries one aggregation read covers. */
export const AGGREGATION_ENTRIES_PER_READ = 1_000;

/** Reads billed for a query that returned `size` documents. */
export function queryReads(size: number): number {
  return Math.max(1, size);
}

/** Reads billed for a `count()` that matched `count` index entries. */
export function countReads(count: number): number {
  return Math.max(1, Math.ceil(count / AGGREGATION_ENTRIES_PER_READ));
}

/** The four document writes, shaped like Transaction/WriteBatch/BulkWriter's (`R` = what each returns). */
export interface BilledWrites<R> {
  create<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): R;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): R;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: PartialWithFieldValue<A>, options: SetOptions): R;
  update<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: UpdateData<D>, precondition?: Precondition): R;
  delete<A, D extends DocumentData>(ref: DocumentReference<A, D>, precondition?: Precondition): R;
}

/** A transaction whose reads and writes are billed. Writes return the wrapper, for chaining. */
export interface BilledTransaction extends BilledWrites<BilledTransaction> {
  get<A, D extends DocumentData>(ref: DocumentReference<A, D>): Promise<DocumentSnapshot<A, D>>;
  getAll<A, D extends DocumentData>(...refs: DocumentReference<A, D>[]): Promise<DocumentSnapshot<A, D>[]>;
  query<A, D extends DocumentData>(query: Query<A, D>): Promise<QuerySnapshot<A, D>>;
  count<A, D extends DocumentData>(query: Query<A, D>): Promise<number>;
  /** The client's transaction, for what the wrapper does not cover (nothing it does is billed here). */
  readonly raw: Transaction;
}

/** A write batch billed on a successful commit. */
export interface BilledBatch extends BilledWrites<BilledBatch> {
  commit(): Promise<WriteResult[]>;
  readonly raw: WriteBatch;
}

/** A BulkWriter whose writes are billed one by one as they succeed. */
export interface BilledBulkWriter extends BilledWrites<Promise<WriteResult>> {
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly raw: BulkWriter;
}

export interface Bill<Domain extends string = string> {
  get<A, D extends DocumentData>(domain: Domain, ref: DocumentReference<A, D>): Promise<DocumentSnapshot<A, D>>;
  getAll<A, D extends DocumentData>(domain: Domain, ...refs: DocumentReference<A, D>[]): Promise<DocumentSnapshot<A, D>[]>;
  query<A, D extends DocumentData>(domain: Domain, query: Query<A, D>): Promise<QuerySnapshot<A, D>>;
  /** `query.count()`: the number of matching documents. */
  count<A, D extends DocumentData>(domain: Domain, query: Query<A, D>): Promise<number>;
  /** Single-document writes outside transactions and batches. */
  write(domain: Domain): BilledWrites<Promise<WriteResult>>;
  /** `firestore.runTransaction` (same retries and options) with a billed transaction. */
  tx<T>(
    domain: Domain,
    fn: (tx: BilledTransaction) => Promise<T>,
    options?: ReadWriteTransactionOptions | ReadOnlyTransactionOptions,
  ): Promise<T>;
  batch(domain: Domain): BilledBatch;
  bulkWriter(domain: Domain, options?: BulkWriterOptions): BilledBulkWriter;
  /** A copy of the counts so far, per domain that has been billed anything. */
  snapshot(): Partial<Record<Domain, BillLine>>;
  reset(): void;
}

type WriteKind = 'create' | 'set' | 'update' | 'delete';

/** The write methods of Transaction, WriteBatch and BulkWriter (R = their return type). */
interface RawWrites<R> {
  create<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): R;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: PartialWithFieldValue<A>, options: SetOptions): R;
  set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): R;
  update<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: UpdateData<D>, precondition?: Precondition): R;
  delete(ref: DocumentReference<unknown, DocumentData>, precondition?: Precondition): R;
}

/**
 * Forwards the four writes to `raw` and returns what `after(kind, rawResult)` makes of each
 * (the wrapper itself for chaining, or a promise that bills once the write succeeded).
 */
function forwardWrites<R, Out>(raw: RawWrites<R>, after: (kind: WriteKind, result: R) => Out): BilledWrites<Out> {
  function set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: WithFieldValue<A>): Out;
  function set<A, D extends DocumentData>(ref: DocumentReference<A, D>, data: PartialWithFieldValue<A>, options: SetOptions): Out;
  function set<A, D extends DocumentData>(
    ref: DocumentReference<A, D>,
    data: PartialWithFieldValue<A> | WithFieldValue<A>,
    options?: SetOptions,
  ): Out {
    // Without options the overloads guarantee `data` is a full WithFieldValue<A>.
    return after('set', options === undefined ? raw.set(ref, data as WithFieldValue<A>) : raw.set(ref, data, options));
  }
  return {
    create: (ref, data) => after('create', raw.create(ref, data)),
    set,
    // update() reads its arguments as field/value pairs: an explicit `undefined` precondition
    // would be taken for a field path, so it is passed only when given.
    update: (ref, data, precondition) =>
      after('update', precondition === undefined ? raw.update(ref, data) : raw.update(ref, data, precondition)),
    delete: (ref, precondition) => after('delete', precondition === undefined ? raw.delete(ref) : raw.delete(ref, precondition)),
  };
}

export function createBill<Domain extends string = string>(firestore: Firestore): Bill<Domain> {
  const lines = new Map<Domain, BillLine>();
  const line = (domain: Domain): BillLine => {
    let l = lines.get(domain);
    if (l === undefined) {
      l = { reads: 0, writes: 0, deletes: 0 };
      lines.set(domain, l);
    }
    return l;
  };
  const addReads = (domain: Domain, n: number): void => {
    line(domain).reads += n;
  };
  const addWrites = (domain: Domain, kinds: readonly WriteKind[]): void => {
    const l = line(domain);
    for (const kind of kinds) {
      if (kind === 'delete') l.deletes += 1;
      else l.writes += 1;
    }
  };
  const billedCount = async (domain: Domain, agg: Promise<{ data(): { count: number } }>): Promise<number> => {
    const n = (await agg).data().count;
    addReads(domain, countReads(n));
    return n;
  };

  return {
    async get(domain, ref) {
      const snap = await ref.get();
      addReads(domain, 1);
      return snap;
    },
    async getAll<A, D extends DocumentData>(domain: Domain, ...refs: DocumentReference<A, D>[]) {
      if (refs.length === 0) return [];
      // Firestore#getAll is typed for DocumentData only; the snapshots keep each ref's converter.
      const snaps = await firestore.getAll(...(refs as unknown as DocumentReference[]));
      addReads(domain, snaps.length);
      return snaps as unknown as DocumentSnapshot<A, D>[];
    },
    async query(domain, query) {
      const snap = await query.get();
      addReads(domain, queryReads(snap.size));
      return snap;
    },
    count(domain, query) {
      return billedCount(domain, query.count().get());
    },
    write(domain) {
      // A DocumentReference's own writes, reshaped ref-first so that one forwarder serves all.
      const direct: RawWrites<Promise<WriteResult>> = {
        create: (ref, data) => ref.create(data),
        set: <A, D extends DocumentData>(ref: DocumentReference<A, D>, data: PartialWithFieldValue<A>, options?: SetOptions) =>
          options === undefined ? ref.set(data as WithFieldValue<A>) : ref.set(data, options),
        update: (ref, data, precondition) => (precondition === undefined ? ref.update(data) : ref.update(data, precondition)),
        delete: (ref, precondition) => (precondition === undefined ? ref.delete() : ref.delete(precondition)),
      };
      return forwardWrites(direct, async (kind, result) => {
        const r = await result;
        addWrites(domain, [kind]);
        return r;
      });
    },
    async tx(domain, fn, options) {
      let attemptWrites: WriteKind[] = [];
      const result = await firestore.runTransaction(async (t) => {
        // A retry starts over: only the attempt that commits has its writes billed.
        attemptWrites = [];
        const pending = attemptWrites;
        const billed: BilledTransaction = {
          ...forwardWrites<Transaction, BilledTransaction>(t, (kind) => {
            pending.push(kind);
            return billed;
          }),
          async get(ref) {
            const snap = await t.get(ref);
            addReads(domain, 1);
            return snap;
          },
          async getAll(...refs) {
            if (refs.length === 0) return [];
            const snaps = await t.getAll(...refs);
            addReads(domain, snaps.length);
            return snaps;
          },
          async query(query) {
            const snap = await t.get(query);
            addReads(domain, queryReads(snap.size));
            return snap;
          },
          count(query) {
            return billedCount(domain, t.get(query.count()));
          },
          raw: t,
        };
        return fn(billed);
      }, options);
      addWrites(domain, attemptWrites);
      return result;
    },
    batch(domain) {
      const raw = firestore.batch();
      let kinds: WriteKind[] = [];
      const billed: BilledBatch = {
        ...forwardWrites<WriteBatch, BilledBatch>(raw, (kind) => {
          kinds.push(kind);
          return billed;
        }),
        async commit() {
          const results = await raw.commit();
          addWrites(domain, kinds);
          kinds = [];
          return results;
        },
        raw,
      };
      return billed;
    },
    bulkWriter(domain, options) {
      const raw = firestore.bulkWriter(options);
      return {
        ...forwardWrites<Promise<WriteResult>, Promise<WriteResult>>(raw, async (kind, result) => {
          const r = await result;
          addWrites(domain, [kind]);
          return r;
        }),
        flush: () => raw.flush(),
        close: () => raw.close(),
        raw,
      };
    },
    snapshot() {
      const out: Partial<Record<Domain, BillLine>> = {};
      for (const [domain, l] of lines) out[domain] = { ...l };
      return out;
    },
    reset() {
      lines.clear();
    },
  };
}
