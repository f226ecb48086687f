/**
 * The in-process tier (L1): decoded values of recent Redis hits, bounded by entries and bytes,
 * kept only while the invalidation channel (tracking.ts) is up. Coherence rests on three rules:
 *
 * - Every key Redis reports changed is evicted (tracking.ts delivers them); a changed tag
 *   version evicts every entry carrying that tag.
 * - A value read from Redis enters L1 only if no invalidation of its key (or of any tag, for a
 *   tagged entry) arrived between the moment the read was sent and the moment its answer is
 *   stored: the answer and the invalidation travel on different connections, so an answer can
 *   arrive after the invalidation of the write that replaced it. `ticket()` before the read,
 *   `admit()` with the ticket after.
 * - When the channel goes down, L1 is emptied and every ticket issued before is void; nothing
 *   is served or admitted until it is up again.
 *
 * What is left is the propagation delay of one invalidation message: after a write completes
 * on Redis, another instance can serve the old value until the message reaches it (README,
 * "The in-process tier", for the measured bound).
 */
import { LRUCache } from 'lru-cache';
import type { TrackingClientLike } from './tracking.ts';

export interface L1Options {
  /** Most entries kept. Default 10,000. */
  maxEntries?: number;
  /** Most bytes kept, counted as the stored text's length in UTF-16 code units × 2. Default 64 MiB. */
  maxBytes?: number;
  /** Key namespaces (the key up to its first `:`) never kept in L1, e.g. `['wallet']`. Default none. */
  excludeNamespaces?: readonly string[];
  /**
   * Deep-freeze values as they enter L1, so a caller that mutates a shared value throws instead
   * of changing what every later caller gets. Default: on unless NODE_ENV is `production`.
   */
  freeze?: boolean;
  /** How often the channel's connection is pinged, in ms. Default 250. */
  heartbeatMs?: number;
  /** A ping unanswered this long puts the channel down (L1 emptied and bypassed), in ms. Default 1,000. */
  channelTimeoutMs?: number;
  /**
   * Only when `redis` is a node-redis Sentinel client you created: a new client, not connected,
   * in RESP2, on the data node at `host:port`, with your data nodes' credentials and TLS (the
   * `nodeClientOptions` you gave createSentinel). The invalidation channel must be a connection
   * of its own on the master, and node-redis keeps a sentinel client's node options private.
   * Without it `l1` on such a client is refused. Ignored otherwise. Default: none.
   */
  sentinelNodeClient?: ((node: { host: string; port: number }) => TrackingClientLike) | undefined;
}

export interface ResolvedL1Options {
  maxEntries: number;
  maxBytes: number;
  excludeNamespaces: ReadonlySet<string>;
  freeze: boolean;
  heartbeatMs: number;
  channelTimeoutMs: number;
  sentinelNodeClient: ((node: { host: string; port: number }) => TrackingClientLike) | undefined;
}

/** One L1 entry: the decoded value and what decides whether it may still be served. */
export interface L1Entry {
  readonly value: unknown;
  readonly freshUntilMs: number;
  /** The fetch time stored with the entry, for early refresh (xfetch.ts) on L1 hits. */
  readonly fetchMs: number;
  readonly tags: readonly string[];
}

/** How many recently invalidated keys are remembered for admission checks (see `admit`). */
const RECENT_INVALIDATIONS = 10_000;

export interface L1Stats {
  entries: number;
  bytes: number;
  /** Entries dropped to stay within maxEntries / maxBytes. */
  evictions: number;
  /** Times L1 was emptied: the channel went down, or Redis reported a flush. */
  flushes: number;
}

export class MemoryTier {
  readonly options: ResolvedL1Options;
  readonly #lru: LRUCache<string, L1Entry>;
  /** Tag name → keys in L1 carrying it. */
  readonly #byTag = new Map<string, Set<string>>();
  /** Key → the sequence number of its latest invalidation, for the most recent ones. */
  readonly #recent = new Map<string, number>();
  /** Every key not in #recent was last invalidated at or before this sequence number. */
  #floor = 0;
  /** The sequence number of the latest tag invalidation. */
  #lastTagInvalidation = 0;
  #seq = 0;
  #up = false;
  #evictions = 0;
  #flushes = 0;

  constructor(options: ResolvedL1Options) {
    this.options = options;
    this.#lru = new LRUCache<string, L1Entry, unknown>({
      max: options.maxEntries,
      maxSize: options.maxBytes,
      dispose: (entry, key, reason) => {
        if (reason === 'evict') this.#evictions++;
        for (const t of entry.tags) {
          const keys = this.#byTag.get(t);
          keys?.delete(key);
          if (keys?.size === 0) this.#byTag.delete(t);
        }
      },
    });
  }

  /** Whether L1 serves and admits now (the channel is up). */
  get up(): boolean {
    return this.#up;
  }

  /** The channel is up: from now on reads may be admitted. */
  channelUp(): void {
    this.#up = true;
  }

  /** The channel is down: empty L1, void every ticket, serve nothing until it is up again. */
  channelDown(): void {
    if (!this.#up) return;
    this.#up = false;
    this.flush();
  }

  /** Empties L1 and voids every ticket issued so far. */
  flush(): void {
    this.#floor = ++this.#seq;
    this.#recent.clear();
    if (this.#lru.size > 0) this.#lru.clear();
    this.#byTag.clear();
    this.#flushes++;
  }

  /** The fresh value under `key`, or undefined. */
  get(key: string, nowMs: number): L1Entry | undefined {
    if (!this.#up) return undefined;
    const e = this.#lru.get(key);
    if (e === undefined) return undefined;
    if (nowMs < e.freshUntilMs) return e;
    this.#lru.delete(key);
    return undefined;
  }

  /** Whether `key` may be kept in L1 at all (its namespace is not excluded). */
  eligible(key: string): boolean {
    if (this.options.excludeNamespaces.size === 0) return true;
    const colon = key.indexOf(':');
    return !this.options.excludeNamespaces.has(colon < 0 ? key : key.slice(0, colon));
  }

  /** Taken just before a read is sent: the sequence number it must be admitted against, or -1 (channel down). */
  ticket(): number {
    return this.#up ? this.#seq : -1;
  }

  /**
   * Stores a value read from Redis under `fullKey` (the key as Redis names it) if nothing
   * invalidated it since `ticket`. `size` is the stored text's length.
   */
  admit(fullKey: string, ticket: number, value: unknown, freshUntilMs: number, fetchMs: number, tags: readonly string[], size: number): void {
    if (ticket < 0 || !this.#up) return;
    const last = this.#recent.get(fullKey) ?? this.#floor;
    if (last > ticket) return;
    if (tags.length > 0 && this.#lastTagInvalidation > ticket) return;
    if (size * 2 > this.options.maxBytes) return;
    if (this.options.freeze) deepFreeze(value);
    this.#lru.set(fullKey, { value, freshUntilMs, fetchMs, tags }, { size: size * 2 + fullKey.length * 2 + 64 });
    for (const t of tags) {
      let keys = this.#byTag.get(t);
      if (keys === undefined) this.#byTag.set(t, (keys = new Set()));
      keys.add(fullKey);
    }
  }

  /** The key changed (Redis reported it, or this instance wrote it): evicted, and reads in flight cannot bring it back. */
  invalidate(fullKey: string): void {
    const seq = ++this.#seq;
    this.#recent.delete(fullKey);
    this.#recent.set(fullKey, seq);
    if (this.#recent.size > RECENT_INVALIDATIONS) {
      const oldest = this.#recent.entries().next().value;
      if (oldest !== undefined) {
        this.#recent.delete(oldest[0]);
        this.#floor = oldest[1];
      }
    }
    this.#lru.delete(fullKey);
  }

  /** A tag's version changed: every entry carrying it goes. */
  invalidateTag(tag: string): void {
    this.#lastTagInvalidation = ++this.#seq;
    const keys = this.#byTag.get(tag);
    if (keys === undefined) return;
    for (const k of Array.from(keys)) this.#lru.delete(k);
  }

  stats(): L1Stats {
    return { entries: this.#lru.size, bytes: this.#lru.calculatedSize, evictions: this.#evictions, flushes: this.#flushes };
  }
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
