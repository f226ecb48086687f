import { LRUCache } from 'lru-cache';
import type { Clock } from './clock.ts';
import { plainEntry, randomToken, type EntryWrite, type StoredEntry, type TagRef } from './entry.ts';
import { RedisCommandError, type CacheError } from './errors.ts';
import { globToRegExp } from './glob.ts';
import type { LeaseWatch } from './lease-watch.ts';
import type { AcquireRequest, AcquireResult, CacheStore, EntryRead, LeaseTry, LeasingRead, PatternDeletion } from './store.ts';
import { tagKeyPrefix } from './tags.ts';

export interface MemoryStoreOptions {
  /** Most entries held before the least recently used is evicted. Default 10,000. */
  maxEntries?: number;
  /** Most bytes (keys + values, UTF-16 length × 2) held. Default 64 MiB. */
  maxBytes?: number;
  /** Time source for expiry. */
  clock: Clock;
  /** Where tag versions are kept; must match the prefix of the caches using the store. Default `#tag:` (prefix ''). */
  tagKeyPrefix?: string;
}

/** A plain value, as Redis SET stores it: counters, tag versions, raw writes. */
interface StringSlot {
  readonly kind: 'string';
  readonly value: string;
  /** Clock time at which the key disappears; Infinity for none. */
  readonly expiresAtMs: number;
}

interface Lease {
  readonly token: string;
  readonly untilMs: number;
  readonly tags: readonly TagRef[];
}

/** An entry (value and/or lease): in Redis, the entry's string and its lease key. */
interface HashSlot {
  readonly kind: 'hash';
  readonly entry: StoredEntry | undefined;
  readonly lease: Lease | undefined;
  readonly expiresAtMs: number;
}

type Slot = StringSlot | HashSlot;

/**
 * Told of every change to a key, as Redis's broadcast tracking reports it (tiers/tracking.ts):
 * the full key name, or null when the whole store is emptied. Called synchronously within the
 * change's atomic step, after the change: it must not throw, nor call back into the store.
 */
export type StoreChangeListener = (fullKey: string | null) => void;

function slotSize(slot: Slot, key: string): number {
  if (slot.kind === 'string') return (key.length + slot.value.length) * 2 + 16;
  let chars = key.length + (slot.entry?.value.length ?? 0);
  for (const [n, v] of slot.entry?.tags ?? []) chars += n.length + v.length;
  if (slot.lease !== undefined) chars += 32;
  return chars * 2 + 64;
}

/** A random token drawn on first call, then the same one. */
function lazyToken(): () => string {
  let token: string | undefined;
  return () => (token ??= randomToken());
}

/**
 * A bounded in-process store for development, tests and the simulator, with the Redis store's
 * semantics: each method does in one synchronous step what the Redis store does in one script,
 * so leases, grace, fail-safe and tags behave the same. Expiry is checked against the injected
 * clock on read (lru-cache's own TTL timer cannot be driven by a fake clock), so expired entries
 * cost memory until read, evicted or swept by size(). Tag versions live in the same LRU, so
 * they can be evicted; an evicted version only invalidates the entries that recorded it.
 */
export class MemoryStore implements CacheStore {
  readonly kind = 'memory' as const;
  readonly ordersUntaggedWrites = true;
  readonly #lru: LRUCache<string, Slot>;
  readonly #clock: Clock;
  readonly #tagPrefix: string;
  readonly #leaseWatchers = new Map<string, Set<() => void>>();
  readonly #changeListeners = new Set<StoreChangeListener>();

  constructor(options: MemoryStoreOptions) {
    this.#clock = options.clock;
    this.#tagPrefix = options.tagKeyPrefix ?? tagKeyPrefix('');
    this.#lru = new LRUCache<string, Slot>({
      max: options.maxEntries ?? 10_000,
      maxSize: options.maxBytes ?? 64 * 1024 * 1024,
      sizeCalculation: slotSize,
      // Redis reports an evicted key like any other change.
      dispose: (_slot, key, reason) => {
        if (reason === 'evict') this.#changed(key);
      },
    });
  }

  /**
   * Reports every change from now on, as Redis's broadcast tracking does, so that the
   * in-process tier can be put in front of this store (the interleaving test does). Reported:
   * an entry written (a plain write, a lease-checked commit, a fail-safe mark), a key deleted
   * (one by one, by pattern, expired, evicted, or a dead entry cleared by a lease taker), a raw
   * or counter write, a tag version created or moved (under the same name the Redis store
   * gives it, `tagKeyPrefix(prefix) + name`), and null when the store is emptied (close).
   * Not reported: leases (on Redis, keys with a NUL the tier ignores) and expiry extensions of
   * tag versions (Redis reports its PEXPIRE, but it changes no value, and leaving it out only
   * takes invalidations away from the tier, never adds them). Returns the unsubscribe.
   */
  subscribeChanges(listener: StoreChangeListener): () => void {
    this.#changeListeners.add(listener);
    return () => void this.#changeListeners.delete(listener);
  }

  #changed(key: string | null): void {
    if (this.#changeListeners.size === 0) return;
    for (const l of this.#changeListeners) l(key);
  }

  #live(key: string): Slot | undefined {
    const s = this.#lru.get(key);
    if (s === undefined) return undefined;
    if (s.expiresAtMs <= this.#clock.now()) {
      this.#lru.delete(key);
      this.#changed(key);
      return undefined;
    }
    return s;
  }

  #hash(key: string): HashSlot | undefined {
    const s = this.#live(key);
    return s?.kind === 'hash' ? s : undefined;
  }

  #version(name: string): string | undefined {
    const s = this.#live(this.#tagPrefix + name);
    return s?.kind === 'string' ? s.value : undefined;
  }

  #valid(refs: readonly TagRef[]): boolean {
    for (const [name, version] of refs) if (this.#version(name) !== version) return false;
    return true;
  }

  /** The tag version key lives at least ms more (an absent one stays absent). */
  #extend(refs: readonly TagRef[], ms: number): void {
    const until = this.#clock.now() + ms;
    for (const [name] of refs) {
      const key = this.#tagPrefix + name;
      const s = this.#live(key);
      if (s !== undefined && s.expiresAtMs < until) this.#lru.set(key, { ...s, expiresAtMs: until });
    }
  }

  /**
   * Current versions of the tags, creating a version for a tag that has none. `nonce` is called
   * only then: most writes carry no tags, and a crypto draw per write was a third of the
   * simulator's time (bench/simulate.ts).
   */
  #snapshot(names: readonly string[], nonce: () => string, ms: number): TagRef[] {
    const refs: TagRef[] = [];
    const until = this.#clock.now() + ms;
    names.forEach((name, i) => {
      const key = this.#tagPrefix + name;
      const s = this.#live(key);
      if (s?.kind === 'string') {
        if (s.expiresAtMs < until) this.#lru.set(key, { ...s, expiresAtMs: until });
        refs.push([name, s.value]);
      } else {
        const version = `${nonce()}${i + 1}`;
        this.#lru.set(key, { kind: 'string', value: version, expiresAtMs: until });
        this.#changed(key);
        refs.push([name, version]);
      }
    });
    return refs;
  }

  #read(key: string): StoredEntry | null {
    const s = this.#live(key);
    if (s === undefined) return null;
    if (s.kind === 'string') return plainEntry(s.value);
    if (s.entry === undefined || !this.#valid(s.entry.tags)) return null;
    return s.entry;
  }

  async readEntry(key: string): Promise<StoredEntry | null> {
    return this.#read(key);
  }

  read<R>(r: EntryRead<R>): Promise<R> {
    return this.readEntry(r.fullKey).then((entry) => r.onEntry(entry), (err: CacheError) => r.onError(err));
  }

  async readEntries(keys: readonly string[]): Promise<(StoredEntry | null)[]> {
    return keys.map((k) => this.#read(k));
  }

  #put(e: EntryWrite, refs: readonly TagRef[]): void {
    const entry: StoredEntry = {
      value: e.value,
      // Decoded on every read: a shared decoded object would let one caller's mutation reach the next.
      decoded: undefined,
      freshUntilMs: e.freshUntilMs,
      graceUntilMs: e.graceUntilMs,
      fetchMs: Math.round(e.fetchMs),
      failSafe: false,
      tags: refs,
    };
    this.#lru.set(e.key, { kind: 'hash', entry, lease: undefined, expiresAtMs: this.#clock.now() + e.ttlMs });
    this.#changed(e.key);
    this.#announce(e.key);
  }

  async write(entries: readonly EntryWrite[]): Promise<void> {
    const nonce = lazyToken();
    entries.forEach((e, i) => this.#put(e, this.#snapshot(e.tags, () => `${nonce()}${i + 1}.`, e.ttlMs)));
  }

  async setRaw(key: string, value: string, ttlMs: number): Promise<void> {
    this.#lru.set(key, { kind: 'string', value, expiresAtMs: this.#clock.now() + ttlMs });
    this.#changed(key);
  }

  /** Mirrors the ACQUIRE script in scripts.ts. */
  async acquire(key: string, req: AcquireRequest): Promise<AcquireResult> {
    const now = req.nowMs;
    let slot = this.#live(key);
    if (slot?.kind === 'string') {
      this.#lru.delete(key);
      this.#changed(key);
      slot = undefined;
    }
    let entry = slot?.entry ?? null;
    if (entry !== null && (now >= entry.graceUntilMs || !this.#valid(entry.tags))) entry = null;
    const fresh = entry !== null && now < entry.freshUntilMs;
    const lease = slot?.lease;
    if (lease !== undefined && lease.untilMs > now && this.#valid(lease.tags)) return { entry, lease: 'held' };
    if (fresh && req.mode !== 'early') return { entry, lease: 'free' };
    const tags = this.#snapshot(req.tags, lazyToken(), req.leaseTtlMs);
    const minExpiry = this.#clock.now() + req.leaseTtlMs;
    const expiresAtMs = entry !== null && slot !== undefined ? Math.max(slot.expiresAtMs, minExpiry) : minExpiry;
    this.#lru.set(key, { kind: 'hash', entry: entry ?? undefined, lease: { token: req.token, untilMs: now + req.leaseTtlMs, tags }, expiresAtMs });
    // A dead entry (past grace, or a tag moved) is cleared with the lease taken, as ACQUIRE's DEL.
    if (entry === null && slot?.entry !== undefined) this.#changed(key);
    return { entry, lease: 'acquired' };
  }

  /** Mirrors `SET <key> <marker> NX PX … GET`: an entry stored is returned, a live lease is held, otherwise the lease is taken. */
  async tryLease(key: string, token: string, leaseTtlMs: number, nowMs: number): Promise<LeaseTry> {
    const slot = this.#live(key);
    if (slot?.kind === 'string') return { state: 'found', entry: plainEntry(slot.value) };
    if (slot?.entry !== undefined) return { state: 'found', entry: slot.entry.tags.length === 0 ? slot.entry : null };
    if (slot?.lease !== undefined && slot.lease.untilMs > nowMs) return { state: 'held', entry: null };
    this.#lru.set(key, { kind: 'hash', entry: undefined, lease: { token, untilMs: nowMs + leaseTtlMs, tags: [] }, expiresAtMs: this.#clock.now() + leaseTtlMs });
    return { state: 'taken', entry: null };
  }

  readonly leaseOnRead = true;

  readOrLease<R>(r: LeasingRead<R>): Promise<R> {
    return this.tryLease(r.fullKey, r.token, r.leaseTtlMs, this.#clock.now()).then(
      (t) => {
        if (t.state !== 'found') return r.onLease(t.state === 'taken' ? 'acquired' : 'held');
        // A tagged entry (null here): read as `read` does, tag versions checked.
        return r.onEntry(t.entry ?? this.#read(r.fullKey));
      },
      (err: CacheError) => r.onError(err),
    );
  }

  /** In-process: the store announces each lease it drops to the waiters on that key. */
  watchLease(key: string): LeaseWatch {
    let listeners = this.#leaseWatchers.get(key);
    if (listeners === undefined) {
      listeners = new Set();
      this.#leaseWatchers.set(key, listeners);
    }
    const set = listeners;
    let fire: () => void = () => {};
    const released = new Promise<void>((resolve) => (fire = resolve));
    set.add(fire);
    return {
      armed: Promise.resolve(true),
      released,
      close: () => {
        set.delete(fire);
        if (set.size === 0 && this.#leaseWatchers.get(key) === set) this.#leaseWatchers.delete(key);
      },
    };
  }

  #announce(key: string): void {
    const set = this.#leaseWatchers.get(key);
    if (set !== undefined) for (const fire of set) fire();
  }

  /** Mirrors the WRITE script with one entry. */
  async commit(key: string, token: string | undefined, e: EntryWrite): Promise<boolean> {
    if (token === undefined) {
      this.#put(e, this.#snapshot(e.tags, lazyToken(), e.ttlMs));
      return true;
    }
    const slot = this.#hash(key);
    if (slot?.lease?.token !== token) return false;
    if (!this.#valid(slot.lease.tags)) {
      this.#lru.set(key, { ...slot, lease: undefined });
      this.#dropIfEmpty(key);
      this.#announce(key);
      return false;
    }
    this.#extend(slot.lease.tags, e.ttlMs);
    this.#put(e, slot.lease.tags);
    return true;
  }

  async failSafe(key: string, token: string | undefined, expectFreshUntilMs: number, retryAtMs: number): Promise<boolean> {
    const slot = this.#hash(key);
    const entry = slot?.entry;
    if (slot === undefined || entry === undefined) return false;
    if (token !== undefined && slot.lease?.token !== token) return false;
    if (entry.freshUntilMs !== expectFreshUntilMs || !this.#valid(entry.tags)) return false;
    this.#lru.set(key, { ...slot, entry: { ...entry, freshUntilMs: retryAtMs, failSafe: true }, lease: undefined });
    this.#changed(key);
    this.#announce(key);
    return true;
  }

  async release(key: string, token: string): Promise<void> {
    const slot = this.#hash(key);
    if (slot?.lease?.token !== token) return;
    this.#lru.set(key, { ...slot, lease: undefined });
    this.#dropIfEmpty(key);
    this.#announce(key);
  }

  /** Redis removes a hash whose last field is deleted. */
  #dropIfEmpty(key: string): void {
    const slot = this.#hash(key);
    if (slot !== undefined && slot.entry === undefined && slot.lease === undefined) this.#lru.delete(key);
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    const nonce = randomToken();
    tags.forEach((name, i) => {
      const key = this.#tagPrefix + name;
      const s = this.#live(key);
      if (s === undefined) return;
      this.#lru.set(key, { kind: 'string', value: `${nonce}.${i + 1}`, expiresAtMs: s.expiresAtMs });
      this.#changed(key);
    });
  }

  /** Deletes the keys (entries, their leases, counters); counts what Redis's store counts: entries and counters, not tag versions or leases alone. */
  async delete(keys: readonly string[]): Promise<number> {
    let n = 0;
    for (const k of keys) n += this.#remove(k);
    return n;
  }

  async deletePattern(pattern: string, _batchSize?: number, onDeleted?: (n: number) => void): Promise<PatternDeletion> {
    const started = performance.now();
    const re = globToRegExp(pattern);
    let n = 0;
    for (const key of Array.from(this.#lru.keys())) if (re.test(key)) n += this.#remove(key);
    if (n > 0) onDeleted?.(n);
    return { deleted: n, nodes: [{ address: 'memory', deleted: n, ms: performance.now() - started }] };
  }

  #remove(key: string): number {
    const s = this.#live(key);
    this.#lru.delete(key);
    if (s === undefined) return 0;
    // A lease alone is no key of its own on Redis (a `\0lease` key, which the tier ignores).
    if (s.kind === 'string' || s.entry !== undefined) this.#changed(key);
    if (s.kind === 'hash' && s.lease !== undefined) this.#announce(key);
    // An untagged call's lease on a key with no entry counts: on Redis it lives under the key itself (scripts.ts).
    if (s.kind === 'hash') return s.entry !== undefined || (s.lease !== undefined && s.lease.tags.length === 0) ? 1 : 0;
    return key.startsWith(this.#tagPrefix) ? 0 : 1;
  }

  async incrBy(key: string, delta: number, ttlMs: number): Promise<number> {
    const s = this.#live(key);
    if (s?.kind === 'hash') throw new RedisCommandError('Redis INCR failed: WRONGTYPE Operation against a key holding the wrong kind of value');
    const next = (s === undefined ? 0 : Number(s.value)) + delta;
    const expiresAtMs = s === undefined || s.expiresAtMs === Infinity ? this.#clock.now() + ttlMs : s.expiresAtMs;
    this.#lru.set(key, { kind: 'string', value: String(next), expiresAtMs });
    this.#changed(key);
    return next;
  }

  async pttl(key: string): Promise<number | null> {
    const s = this.#live(key);
    if (s === undefined) return null;
    return s.expiresAtMs === Infinity ? -1 : s.expiresAtMs - this.#clock.now();
  }

  async size(): Promise<number> {
    const now = this.#clock.now();
    for (const [key, s] of Array.from(this.#lru.entries())) {
      if (s.expiresAtMs > now) continue;
      this.#lru.delete(key);
      this.#changed(key);
    }
    return this.#lru.size;
  }

  async close(): Promise<void> {
    this.#lru.clear();
    this.#changed(null);
  }
}
