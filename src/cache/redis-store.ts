import { isLeaseMarker, leaseMarker, parseStored, randomToken, untaggedText, writeArgs, type EntryWrite, type StoredEntry } from './entry.ts';
import { RedisCommandError, type CacheError } from './errors.ts';
import { RedisCalls, type RedisCallsOptions } from './redis-calls.ts';
import { classify, isOutOfMemory, isSyntaxError, isWrongType, type Guard } from './guard.ts';
import { keyCount, mastersInfo, readRaw, type MasterInfo, type RawInspection, type ScanBatch } from './inspect.ts';
import { tagKeyPrefix } from './tags.ts';
import { LeaseWatcher, type LeaseWatch } from './lease-watch.ts';
import { ACQUIRE, FAIL_SAFE, INCR_WITH_TTL, RELEASE, WRITE } from './scripts.ts';
import { TagVersions, tagsCurrent, TRUST_RECORDED } from './tag-versions.ts';
import { LeasedWrites, writeLeased } from './leased-writes.ts';
import { SharedLeasingReads } from './shared-reads.ts';
import { deletePattern, type PatternDeletionHost } from './pattern-deletion.ts';
import { EntryLookup, type AcquireRequest, type AcquireResult, type CacheStore, type EntryRead, type LeaseTry, type LeasingRead, type PatternDeletion } from './store.ts';
import type { RedisConnection } from './topology/connection.ts';
import { groupBySlot, LEASE_MARK } from './topology/slots.ts';

export { luaScript, type LuaScript } from './scripts.ts';
export type { NodeRedisClient } from './topology/connection.ts';

function noop(): void {}

/** How long leasing reads stay off after Redis refused one for memory. */
const LEASE_ON_READ_OOM_PAUSE_MS = 10_000;


/** A promise of what fn returns, rejected with what it throws. */
function settled<R>(fn: () => R | Promise<R>): Promise<R> {
  return new Promise<R>((resolve) => resolve(fn()));
}

export class RedisStore implements CacheStore {
  readonly kind = 'redis' as const;
  readonly connection: RedisConnection;
  readonly #guard: Guard;
  readonly #tagPrefix: string;
  readonly #tags: TagVersions;
  readonly #keyPrefix: string;
  readonly #jsonEntries: boolean;
  /** How calls other than reads reach Redis: deadline, first connection, invalidation connection, replicas. */
  readonly #calls: RedisCalls;
  readonly #watcher: LeaseWatcher;
  /** The misses' lease-checked writes (leased-writes.ts), unless they WAIT for replicas. */
  readonly #leasedWrites: LeasedWrites;
  /** Leasing reads (readOrLease) are off until then (monotonic ms); Infinity: this Redis lacks them. */
  #leaseOnReadOffUntilMs = 0;
  /** Concurrent leasing reads of one key share the one on the wire (shared-reads.ts); undefined where that is not safe. */
  readonly #sharedReads: SharedLeasingReads | undefined;

  /**
   * `jsonEntries`: values come from the default serializer, so its checked JSON (`c`) may be
   * stored as a JSON entry (entry.ts). `replicas`: invalidations WAIT for that many replicas, on
   * `invalidator` (default: the connection), which the store then owns.
   */
  constructor(
    connection: RedisConnection,
    guard: Guard,
    opts: RedisCallsOptions & { keyPrefix: string; jsonEntries: boolean },
  ) {
    this.connection = connection;
    this.#guard = guard;
    this.#keyPrefix = opts.keyPrefix;
    this.#tagPrefix = tagKeyPrefix(opts.keyPrefix);
    this.#tags = new TagVersions(this.#tagPrefix);
    this.#jsonEntries = opts.jsonEntries;
    const calls = new RedisCalls(connection, guard, opts);
    this.#calls = calls;
    this.#watcher = new LeaseWatcher(() => connection.openPubSub());
    this.#leasedWrites = new LeasedWrites((call) => calls.run('WRITE', call), connection.kind === 'cluster');
    this.#sharedReads = connection.kind !== 'cluster' && calls.invalidator === connection ? new SharedLeasingReads() : undefined;
  }

  /**
   * The write goes out on the connection reads use, unless it must WAIT on the invalidation
   * connection; and not while it is unknown whether Redis takes `SET … IFEQ` (leased-writes.ts).
   */
  get ordersUntaggedWrites(): boolean {
    return this.#calls.replicas === 0 && this.#leasedWrites.learnt;
  }

  get leaseOnRead(): boolean {
    const until = this.#leaseOnReadOffUntilMs;
    if (until === 0) return true;
    if (until === Infinity || performance.now() < until) return false;
    this.#leaseOnReadOffUntilMs = 0;
    return true;
  }

  /**
   * `SET <key> <marker> NX PX … GET` under the deadline, as `read` sends its GET: null (taken) and
   * another's marker go to onLease, an entry to onEntry. Refused for memory or unknown to this
   * Redis, the call is read with a plain GET instead, and leasing reads pause (see leaseOnRead).
   */
  readOrLease<R>(r: LeasingRead<R>): Promise<R> {
    const writing = this.#leasedWrites.settling(r.fullKey);
    if (writing !== undefined) return writing.then(() => this.readOrLease(r), () => this.readOrLease(r));
    const c = this.connection;
    if (!c.isReady) return this.#calls.firstConnect('GET').then(() => this.readOrLease(r), (err: CacheError) => r.onError(err));
    // Before the circuit check: a follower sends nothing, so it must not take the probe's turn.
    const shared = this.#sharedReads;
    if (shared !== undefined) {
      const first = shared.first(r.fullKey);
      if (first !== undefined) return shared.follow(first, r);
    }
    let probe: boolean;
    try {
      probe = this.#guard.check('GET');
    } catch (err) {
      return settled(() => r.onError(classify('GET', err)));
    }
    const answer = this.#guard.watch('GET', probe, c.setIfAbsentGet(r.fullKey, leaseMarker(r.token), r.leaseTtlMs), r, this.#onLeasingRaw, this.#onLeasingFailure);
    shared?.sent(r);
    return answer;
  }

  readonly #onLeasingRaw = <R>(raw: string | null, r: LeasingRead<R>): R | Promise<R> => {
    // The first's own answer first: a lease it took is then in this process's resolver for its
    // followers to join. Then theirs, even if the first's handling threw: none is left waiting.
    try {
      return raw === null ? r.onLease('acquired') : isLeaseMarker(raw) ? r.onLease('held') : this.#onEntry(raw, r, undefined);
    } finally {
      this.#sharedReads?.answered(r, this.#onSharedRaw, raw);
    }
  };

  /** A follower's share of its first's answer (shared-reads.ts): the same, but a lease the first took is held. */
  readonly #onSharedRaw = (f: LeasingRead<unknown>, raw: string | null): unknown => (raw === null || isLeaseMarker(raw) ? f.onLease('held') : this.#onEntry(raw, f, undefined));

  readonly #onLeasingFailure = <R>(err: CacheError, r: LeasingRead<R>): R | Promise<R> => {
    // Each follower meets the error as its own (the same failure handling, once per follower).
    this.#sharedReads?.answered(r, (f, e: CacheError) => this.#onLeasingFailure(e, f), err);
    if (isOutOfMemory(err)) this.#leaseOnReadOffUntilMs = performance.now() + LEASE_ON_READ_OOM_PAUSE_MS;
    else if (isSyntaxError(err)) this.#leaseOnReadOffUntilMs = Infinity;
    else return this.#onFailure(err, r);
    return this.read(r);
  };

  readEntry(key: string, tags?: readonly string[]): Promise<StoredEntry | null> {
    return this.read(new EntryLookup(key, tags));
  }

  read<R>(r: EntryRead<R>): Promise<R> {
    // Read-your-writes: this process's write of the key may still take its second step (leased-writes.ts).
    const writing = this.#leasedWrites.settling(r.fullKey);
    if (writing !== undefined) return writing.then(() => this.read(r), () => this.read(r));
    const c = this.connection;
    if (!c.isReady) return this.#calls.firstConnect('GET').then(() => this.read(r), (err: CacheError) => r.onError(err));
    // The circuit check and the send stay here rather than behind a callback in the guard: that
    // version measured about 4 % slower in `npm run bench` (three A/B pairs).
    let probe: boolean;
    try {
      probe = this.#guard.check('GET');
    } catch (err) {
      return settled(() => r.onError(classify('GET', err)));
    }
    const tags = r.tags;
    if (tags === undefined || tags.length === 0) return this.#guard.watch('GET', probe, c.get(r.fullKey), r, this.#onRaw, this.#onFailure);
    // The caller's tag versions travel with the GET: one round trip (per node, on a cluster).
    const announced = c.mget(tags.map((t) => this.#tagPrefix + t));
    announced.catch(noop); // awaited only when the entry is tagged
    return this.#guard.watch('GET', probe, c.get(r.fullKey), r, (raw, read) => this.#onEntry(raw, read, announced), this.#onFailure);
  }

  /** Tag versions a tagged entry's read did not announce, under their own deadline. */
  readonly #readVersions = (keys: string[]): Promise<(string | null)[]> => this.#calls.run('MGET', (c) => c.mget(keys));

  // Made once per store: the per-read state is the EntryRead itself (see Guard.watch).
  readonly #onRaw = <R>(raw: string | null, r: EntryRead<R>): R | Promise<R> => this.#onEntry(raw, r, undefined);

  readonly #onFailure = <R>(err: CacheError, r: EntryRead<R>): R | Promise<R> => {
    if (!isWrongType(err)) return r.onError(err);
    // An entry written by an earlier version, which kept entries in a hash (field `v`, same
    // grammar), under its own deadline. The next write replaces it with a string.
    return this.#calls.run('HGET', (c) => c.hget(r.fullKey, 'v')).then((raw) => this.#onEntry(raw, r, undefined), (e: CacheError) => r.onError(e));
  };

  /** What onEntry returns, rejected or not, goes to the caller untouched; store failures go to onError. */
  #onEntry<R>(raw: string | null, r: EntryRead<R>, announced: Promise<(string | null)[]> | undefined): R | Promise<R> {
    if (raw === null || isLeaseMarker(raw)) return r.onEntry(null);
    const e = this.#tags.checked(parseStored(raw), r.tags, announced, this.#readVersions);
    return e instanceof Promise ? e.then((entry) => r.onEntry(entry), (err: unknown) => r.onError(classify('MGET', err))) : r.onEntry(e);
  }

  readEntries(keys: readonly string[]): Promise<(StoredEntry | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    const writing = this.#settling(keys);
    if (writing !== undefined) return writing.then(() => this.readEntries(keys));
    return this.#calls.run('MGET', async (c) => {
      // One MGET for all keys (one per slot on a cluster). A key of another type (an entry in
      // an earlier version's hash form) reads as absent: a miss until it is next written.
      const raws = await c.mget(keys);
      const entries = raws.map((raw) => (raw === null || isLeaseMarker(raw) ? null : parseStored(raw)));
      const versions = new Map<string, string | null>();
      await this.#tags.fill((k) => c.mget(k), entries, versions);
      return entries.map((e) => (e !== null && tagsCurrent(e, versions) ? e : null));
    });
  }

  /** One script per slot (one in all on one Redis), all at once: atomic per slot. */
  write(entries: readonly EntryWrite[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return this.#calls.run('WRITE', async (c) => {
      const tags = new Map<string, number>();
      if (!c.tagsInScripts) for (const e of entries) for (const t of e.tags) tags.set(t, Math.max(tags.get(t) ?? 0, e.ttlMs));
      const tp = c.tagsInScripts ? this.#tagPrefix : await this.#tags.scriptArg(c, tags);
      const groups = c.kind === 'cluster' ? Array.from(groupBySlot(entries.map((e) => e.key)).values(), (idx) => idx.map((i) => entries[i] as EntryWrite)) : [entries];
      await Promise.all(
        groups.map((group) => {
          const args = ['', tp, randomToken()];
          for (const e of group) args.push(...writeArgs(e, this.#jsonEntries));
          return c.evalScript(WRITE, [...group.map((e) => e.key), ...group.map((e) => c.leaseKey(e.key))], args);
        }),
      );
    });
  }

  async setRaw(key: string, value: string, ttlMs: number): Promise<void> {
    await this.#calls.run('SET', (c) => c.set(key, value, ttlMs));
  }

  acquire(key: string, req: AcquireRequest): Promise<AcquireResult> {
    return this.#calls.run('ACQUIRE', async (c) => {
      // One Redis: the script reads the tags itself, so the miss path allocates nothing for them.
      const tp = c.tagsInScripts ? this.#tagPrefix : await this.#tags.scriptArg(c, new Map(req.tags.map((t) => [t, req.leaseTtlMs])));
      const reply = await c.evalScript(ACQUIRE, [key, c.leaseKey(key)], [
        String(req.nowMs),
        req.token,
        String(req.leaseTtlMs),
        String(req.nowMs + req.leaseTtlMs),
        req.mode,
        tp,
        req.tags.join(';'),
        randomToken(),
      ]);
      if (!Array.isArray(reply) || reply.length !== 3) throw new RedisCommandError('ACQUIRE returned an unexpected reply');
      const [state, raw, lease] = reply as [unknown, unknown, unknown];
      if (lease !== 'acquired' && lease !== 'held' && lease !== 'free') throw new RedisCommandError('ACQUIRE returned an unexpected lease state');
      const entry = state !== 'absent' && typeof raw === 'string' && raw.length > 0 ? parseStored(raw) : null;
      return { entry, lease };
    });
  }

  /**
   * `SET <key> <marker> NX PX ttl GET`: one plain command, no script (the lease records no tag
   * versions; see scripts.ts), which also returns what the key holds when it was not taken.
   * Batching the leases of misses that arrive together into one script measured no faster
   * (`npm run bench`, 64 misses in flight, three A/B pairs), so each miss sends its own.
   */
  tryLease(key: string, token: string, leaseTtlMs: number, _nowMs: number): Promise<LeaseTry> {
    return this.#calls.run('LEASE', (c) =>
      c.setIfAbsentGet(key, leaseMarker(token), leaseTtlMs).then(
        (raw): LeaseTry => {
          if (raw === null) return { state: 'taken', entry: null };
          if (isLeaseMarker(raw)) return { state: 'held', entry: null };
          const entry = parseStored(raw);
          // A tagged entry's versions are for ACQUIRE to check.
          return { state: 'found', entry: entry.tags.length === 0 ? entry : null };
        },
        // An entry of an earlier version's hash form, or a Redis older than 7.0 (no `NX GET`):
        // the ACQUIRE script reads the key and takes the lease.
        (err: unknown): LeaseTry => {
          if (isWrongType(err) || isSyntaxError(err)) return { state: 'found', entry: null };
          throw err;
        },
      ),
    );
  }

  watchLease(key: string): LeaseWatch {
    return this.#watcher.watch(this.connection.leaseKey(key));
  }

  /**
   * With `replicas`, a lease-checked write that went through also waits for them (on the
   * invalidation connection): a write lost in a failover would leave the replica with the lease
   * the write consumed, and the key blocked for other callers until that lease expires.
   */
  commit(key: string, token: string | undefined, entry: EntryWrite, marker = false): Promise<boolean> {
    if (token !== undefined && entry.tags.length === 0 && this.#calls.replicas === 0) {
      return this.#leasedWrites.write(key, token, untaggedText(entry, this.#jsonEntries), entry.ttlMs, marker);
    }
    const write = async (c: RedisConnection): Promise<boolean> => {
      if (token !== undefined && entry.tags.length === 0) return writeLeased(c, key, this.#leasedArgs(token, entry));
      let tp: string;
      if (c.tagsInScripts) {
        tp = this.#tagPrefix;
      } else if (token === undefined) {
        tp = await this.#tags.scriptArg(c, new Map(entry.tags.map((t) => [t, entry.ttlMs])));
      } else {
        // The lease recorded the versions; the tags only need to outlive the entry, which
        // their own slots see to while the write goes out (both in one round trip).
        tp = TRUST_RECORDED;
        void this.#tags.scriptArg(c, new Map(entry.tags.map((t) => [t, entry.ttlMs]))).catch(noop);
      }
      const reply = await c.evalScript(WRITE, [key, c.leaseKey(key)], [token ?? '', tp, randomToken(), ...writeArgs(entry, this.#jsonEntries)]);
      return Number(reply) === 1;
    };
    if (token === undefined || this.#calls.replicas === 0) return this.#calls.run('WRITE', write);
    return this.#calls.runOn(this.#calls.invalidator, 'WRITE', async (c) => {
      const written = await write(c);
      if (written) await this.#calls.replicated(c, 'WRITE', [key]);
      return written;
    });
  }

  /** WRITE_LEASED's arguments for one entry: token, stored text (entry.ts `storedText`), ttlMs. */
  #leasedArgs(token: string, entry: EntryWrite): [string, string, string] {
    return [token, untaggedText(entry, this.#jsonEntries), String(entry.ttlMs)];
  }

  async failSafe(key: string, token: string | undefined, expectFreshUntilMs: number, retryAtMs: number): Promise<boolean> {
    const reply = await this.#calls.run('FAILSAFE', (c) => c.evalScript(FAIL_SAFE, [key, c.leaseKey(key)], [token ?? '', String(expectFreshUntilMs), String(retryAtMs), c.tagsInScripts ? this.#tagPrefix : TRUST_RECORDED]));
    return Number(reply) === 1;
  }

  async release(key: string, token: string): Promise<void> {
    await this.#calls.run('RELEASE', (c) => c.evalScript(RELEASE, [key, c.leaseKey(key)], [token]));
  }

  /**
   * Gives each existing tag a new version, keeping its TTL (`SET … XX KEEPTTL`; one MULTI on one
   * Redis, one command per tag on a cluster). An absent tag stays absent: no valid entry or
   * lease can refer to it (they would have found it absent, which matches no version).
   */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    const nonce = randomToken();
    const keys = tags.map((t) => this.#tagPrefix + t);
    await this.#calls.invalidation('INVALIDATE_TAGS', keys, (c) =>
      c.setExisting(
        keys,
        tags.map((_, i) => `${nonce}.${i + 1}`),
      ),
    );
  }

  /**
   * Deletes entries and revokes their leases, in one MULTI per slot. Resolves how many entries
   * were deleted: internal keys among `keys` (a pattern over the prefix returns tag versions and
   * leases too) are deleted but not counted.
   */
  delete(keys: readonly string[]): Promise<number> {
    return this.#unlink(keys, true);
  }

  /** delete, waiting for the replicas (when configured) or not (a pattern's batches wait once per node, at its end). */
  #unlink(keys: readonly string[], wait: boolean): Promise<number> {
    const c = this.connection;
    const entries: string[] = [];
    const internal: string[] = [];
    for (const k of keys) {
      if (this.#isInternal(k)) internal.push(k);
      else {
        entries.push(k);
        internal.push(c.leaseKey(k));
      }
    }
    if (internal.length === 0) return Promise.resolve(0);
    if (!wait) return this.#calls.runOn(this.#calls.invalidator, 'UNLINK', (conn) => conn.unlinkEntries(entries, internal));
    return this.#calls.invalidation('UNLINK', internal, (conn) => conn.unlinkEntries(entries, internal));
  }

  /** Settles once this process's writes of keys in flight have (their reads then see them), or undefined when there are none. */
  #settling(keys: readonly string[]): Promise<unknown> | undefined {
    let out: Promise<unknown>[] | undefined;
    for (const k of keys) {
      const w = this.#leasedWrites.settling(k);
      if (w !== undefined) (out ??= []).push(w);
    }
    return out === undefined ? undefined : Promise.allSettled(out);
  }

  /** A lease or a tag version (`<prefix>#tag:…`), as SCAN over the prefix also returns them. */
  #isInternal(fullKey: string): boolean {
    return fullKey.includes(LEASE_MARK) || (fullKey.charCodeAt(this.#keyPrefix.length) === 35 /* # */ && fullKey.startsWith(this.#keyPrefix));
  }

  /** Deletes what a glob pattern matches and the leases on it, master by master at once (pattern-deletion.ts). */
  deletePattern(pattern: string, batchSize: number, onDeleted?: (n: number) => void): Promise<PatternDeletion> {
    return deletePattern(this.#patternHost, pattern, batchSize, onDeleted);
  }

  readonly #patternHost: PatternDeletionHost = {
    masters: () => this.#calls.masters(),
    scan: (m, cursor, match, count) => this.#calls.run('SCAN', () => m.scan(cursor, match, count)),
    unlink: (keys) => this.#unlink(keys, false),
    replicated: async (touched) => {
      if (this.#calls.replicas > 0) await this.#calls.runOn(this.#calls.invalidator, 'UNLINK', (c) => this.#calls.replicated(c, 'invalidatePattern', [touched]));
    },
  };

  async incrBy(key: string, delta: number, ttlMs: number): Promise<number> {
    const reply = await this.#calls.evalScript('INCR', INCR_WITH_TTL, [key], [String(delta), String(ttlMs)]);
    return Number(reply);
  }

  async pttl(key: string): Promise<number | null> {
    await this.#settling([key]);
    const ms = await this.#calls.run('PTTL', (c) => c.pttl(key));
    return ms === -2 ? null : ms;
  }

  async inspect(fullKey: string): Promise<RawInspection> {
    await this.#settling([fullKey]);
    return this.#calls.run('INSPECT', (c) => readRaw(c, fullKey, this.#tagPrefix));
  }

  /** Master after master, so a caller counting keys sees each node's progress; each step has its own deadline. */
  async *scan(match: string, batchSize: number): AsyncGenerator<ScanBatch> {
    for (const m of await this.#calls.masters()) {
      let cursor = '0';
      do {
        const reply = await this.#calls.run('SCAN', () => m.scan(cursor, match, batchSize));
        cursor = reply.cursor;
        yield { node: m.address, keys: reply.keys };
      } while (cursor !== '0');
    }
  }

  serverInfo(): Promise<MasterInfo[]> {
    return this.#calls.run('INFO', mastersInfo);
  }

  /** DBSIZE, summed over the masters. */
  size(): Promise<number> {
    return this.#calls.run('DBSIZE', keyCount);
  }

  /** The facade owns the connection; the store owns the invalidation connection it was given. */
  async close(): Promise<void> {
    await this.#watcher.close();
    if (this.#calls.invalidator !== this.connection) await this.#calls.invalidator.close();
  }
}
