import type { EntryWrite, StoredEntry } from './entry.ts';
import type { CacheError } from './errors.ts';
import type { MasterInfo, RawInspection, ScanBatch } from './inspect.ts';
import type { LeaseWatch } from './lease-watch.ts';

/**
 * What the facade needs from a backing store. Values are already-encoded strings, keys arrive
 * fully prefixed, times are the facade's clock in ms. Both stores implement the same semantics
 * (entries with logical expiry and grace, leases, tag versions) and pass the same contract
 * suite (test/cache/contract.ts), so development on the memory store and the simulator behave
 * like production on Redis.
 *
 * Every method is one atomic step (one Lua script or one round trip in Redis, one synchronous
 * step in memory), and a store applies a caller's calls in the order they were made. The
 * facade's in-process coalescing relies on that order (see get-or-set.ts).
 *
 * A store throws only CacheError subclasses: RedisUnavailableError, CommandTimeoutError,
 * RedisCommandError.
 */

/** One read of an entry, with what to do with its outcome (see CacheStore.read). */
export interface EntryRead<R> {
  /** The full (prefixed) key. */
  readonly fullKey: string;
  /** Tag names the caller expects the entry to carry (see readEntry). */
  readonly tags: readonly string[] | undefined;
  onEntry(entry: StoredEntry | null): R | Promise<R>;
  onError(err: CacheError): R | Promise<R>;
}

/** The plain read: resolves the entry, rejects with the store's error. */
export class EntryLookup implements EntryRead<StoredEntry | null> {
  constructor(
    readonly fullKey: string,
    readonly tags: readonly string[] | undefined,
  ) {}
  onEntry(entry: StoredEntry | null): StoredEntry | null {
    return entry;
  }
  onError(err: CacheError): never {
    throw err;
  }
}

/** What `acquire` does. */
export type AcquireMode =
  /** Take the lease unless the value is fresh or someone else holds it. */
  | 'take'
  /** Early refresh: take the lease even though the value is fresh, unless someone holds it. */
  | 'early';

export interface AcquireRequest {
  nowMs: number;
  token: string;
  leaseTtlMs: number;
  mode: AcquireMode;
  /** Tag names of the call; the lease records their current versions. */
  tags: readonly string[];
}

/**
 * What `tryLease` found: `taken` (the key held nothing, the caller now holds the lease), `held`
 * (another caller's lease), or `found` (an entry is stored: `entry` when it reads as one without
 * tags, null when it needs the ACQUIRE script to judge: tagged, corrupt, an earlier version's form).
 */
export type LeaseTry = { state: 'taken' | 'held'; entry: null } | { state: 'found'; entry: StoredEntry | null };

/** How a leasing read ended without an entry: the caller took the lease, or someone else holds it. */
export type LeaseState = 'acquired' | 'held';

/**
 * A read that takes the lease when the key holds nothing (see CacheStore.readOrLease): an entry
 * goes to `onEntry` as with `read`, no entry to `onLease`.
 */
export interface LeasingRead<R> extends EntryRead<R> {
  readonly token: string;
  readonly leaseTtlMs: number;
  /**
   * Set by the store when other reads of the key wait for this one's answer (shared-reads.ts):
   * they then join the resolution this read starts (Resolver.leased).
   */
  followed: boolean;
  onLease(state: LeaseState): R | Promise<R>;
}

export interface AcquireResult {
  /**
   * The entry if it is valid (tags current) and within grace, fresh or stale; null otherwise.
   * An entry past grace or with a moved tag is never returned: it is dead, not stale.
   */
  entry: StoredEntry | null;
  /** `acquired`: the caller now holds the lease. `held`: another caller does. `free`: nobody does and none was taken. */
  lease: 'acquired' | 'held' | 'free';
}

/** What `deletePattern` did, per node (one node for one Redis or Sentinel, each master of a cluster). */
export interface PatternDeletion {
  deleted: number;
  nodes: { address: string; deleted: number; ms: number }[];
}

export interface CacheStore {
  readonly kind: 'redis' | 'memory';
  /**
   * A lease-checked write of an untagged entry (`commit` with a token, no tags) is applied before
   * any call made after it: getOrSet may then answer before the write lands (read-your-writes
   * holds within the process). False when writes go out on another connection (Redis with
   * invalidationReplicas); the tagged write's script is long and may meet NOSCRIPT, so it is
   * always awaited. Where the write is `SET … IFEQ`, only its first step is ordered so: one that
   * needs the script (a waiter flagged the lease, a stale entry is being refreshed) takes a
   * second, which a later call can overtake and then finds no value yet, never a wrong one
   * (leased-writes.ts).
   */
  readonly ordersUntaggedWrites: boolean;
  /**
   * The entry under key, or null when absent, lease-only, or written under a tag version that
   * has moved. Freshness and grace are the caller's to judge. `tags`: tag names the caller
   * expects the entry to carry, so their versions travel in the same round trip.
   */
  readEntry(key: string, tags?: readonly string[]): Promise<StoredEntry | null>;
  /**
   * readEntry with the outcome handed to `r`'s methods: `r.onEntry(entry)`, or `r.onError(err)`
   * when the store fails. What they return settles the promise. The getOrSet hit path reads
   * through this, so a hit allocates one object for its state instead of a closure per step.
   */
  read<R>(r: EntryRead<R>): Promise<R>;
  /** readEntry for several keys, in one round trip (plus one for tag versions when some are tagged). */
  readEntries(keys: readonly string[]): Promise<(StoredEntry | null)[]>;
  /** Writes entries unconditionally, atomically; replaces each key, so it also revokes its lease. */
  write(entries: readonly EntryWrite[]): Promise<void>;
  /** A plain string value, as Redis SET stores it (interop and tests). */
  setRaw(key: string, value: string, ttlMs: number): Promise<void>;
  /** Reads the entry and, depending on mode and on who holds the lease, takes it. One atomic step. */
  acquire(key: string, req: AcquireRequest): Promise<AcquireResult>;
  /**
   * Takes the lease if the key holds neither an entry nor a lease, for a call without tags (the
   * lease records no tag versions): on Redis one plain `SET <key> <marker> NX PX … GET`, no
   * script, which also returns what the key holds when it does not take it (see LeaseTry). On
   * Redis a lease in the lease key (a tagged call's) does not stop it; the memory store, whose
   * entry and lease share one slot, counts any live lease as held.
   */
  tryLease(key: string, token: string, leaseTtlMs: number, nowMs: number): Promise<LeaseTry>;
  /**
   * Whether `readOrLease` may be used now: false on a Redis that refused it (older than 7.0,
   * which lacks `SET … NX GET`), and for a while after Redis refused it for memory (a write
   * command, refused under `maxmemory` with `noeviction` where a GET is not).
   */
  readonly leaseOnRead: boolean;
  /**
   * `read` and `tryLease` in one step, for a call without tags that expects a miss: an entry goes
   * to `r.onEntry` (tag versions checked as `read` does); a key holding nothing is leased to
   * `r.token` and `r.onLease('acquired')` is called; another caller's lease, `r.onLease('held')`.
   * If the store refuses the leasing form it reads as `read` does (onEntry). A store may answer
   * concurrent leasing reads of one key with one read when that is linearizable (RedisStore:
   * shared-reads.ts); a lease it took then goes to the first, and the others see it held.
   */
  readOrLease<R>(r: LeasingRead<R>): Promise<R>;
  /** Watches the lease on key until closed: `released` resolves when it is dropped (lease-watch.ts). */
  watchLease(key: string): LeaseWatch;
  /**
   * Writes the entry only if `token` still holds the lease and the tag versions the lease was
   * taken under are current (then the entry records those versions). Without a token, writes
   * unconditionally like `write`. Resolves whether it wrote. `marker`: the lease was taken as a
   * marker under the entry's own key (tryLease, readOrLease, or acquire with no entry and no
   * tags), so Redis may check it with `SET … IFEQ` (leased-writes.ts); a hint, never a condition.
   */
  commit(key: string, token: string | undefined, entry: EntryWrite, marker?: boolean): Promise<boolean>;
  /**
   * Fail-safe: if the entry still has freshUntilMs `expectFreshUntilMs` (and `token` still holds
   * the lease, when given), moves freshUntilMs to `retryAtMs`, flags it fail-safe and releases
   * the lease. Resolves false if the entry was invalidated or replaced meanwhile.
   */
  failSafe(key: string, token: string | undefined, expectFreshUntilMs: number, retryAtMs: number): Promise<boolean>;
  /** Drops the lease if `token` holds it. */
  release(key: string, token: string): Promise<void>;
  /** Moves the version of each tag that has one; O(tags), whatever the number of keys. */
  invalidateTags(tags: readonly string[]): Promise<void>;
  /**
   * Returns how many of the keys existed: entries, plain values, and a key holding only an
   * untagged call's lease (which on Redis lives under the key itself). Revokes their leases.
   */
  delete(keys: readonly string[]): Promise<number>;
  /**
   * Deletes every key matching a Redis glob pattern, in batches, on every master at once;
   * resolves how many entries, per node. A node that fails rejects with RedisNodeError naming it.
   * `onDeleted(n)`: n more entries were deleted (after each batch), for a progress display.
   */
  deletePattern(pattern: string, batchSize: number, onDeleted?: (n: number) => void): Promise<PatternDeletion>;
  /** Adds delta; the first write of the key sets its expiry, in the same atomic step. */
  incrBy(key: string, delta: number, ttlMs: number): Promise<number>;
  /** Milliseconds left before the key is physically removed; null when absent; -1 without expiry. */
  pttl(key: string): Promise<number | null>;
  /** Number of keys the store holds (Redis: DBSIZE, which counts every key in the database; summed over a cluster's masters). */
  size(): Promise<number>;

  // ---- Operator reads (inspect.ts), Redis only: the memory store has no operator to serve. ----

  /** What is stored under an entry's key and its lease, and the current versions of the tags they name. */
  inspect?(fullKey: string): Promise<RawInspection>;
  /** SCAN MATCH `match` over every master in turn, one batch of raw keys at a time. */
  scan?(match: string, batchSize: number): AsyncGenerator<ScanBatch>;
  /** `INFO` of each master, and the names of the connections in its `CLIENT LIST`. */
  serverInfo?(): Promise<MasterInfo[]>;
  close(): Promise<void>;
}
