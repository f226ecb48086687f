import type { createClient } from 'redis';
import { ErrorReply } from 'redis';
import { parseStored, randomToken, type EntryWrite, type StoredEntry } from './entry.ts';
import { RedisCommandError, RedisUnavailableError, type CacheError } from './errors.ts';
import { classify, type Guard } from './guard.ts';
import { globToRegExp } from './glob.ts';
import { tagKeyPrefix } from './tags.ts';
import { ACQUIRE, FAIL_SAFE, INCR_WITH_TTL, INVALIDATE_TAGS, RELEASE, WRITE, type LuaScript } from './scripts.ts';
import { EntryLookup, type AcquireRequest, type AcquireResult, type CacheStore, type EntryRead } from './store.ts';

export { luaScript, type LuaScript } from './scripts.ts';

/** A node-redis v5 client as `createClient()` returns it. */
export type NodeRedisClient = ReturnType<typeof createClient>;

type Client = NodeRedisClient;

function isWrongType(err: unknown): boolean {
  const reply = err instanceof RedisCommandError ? err.cause : err;
  return reply instanceof ErrorReply && reply.message.startsWith('WRONGTYPE');
}

function noop(): void {}

/**
 * A lease is a key of its own, named after its entry's: `<key>\0lease`. A NUL cannot occur in
 * an application key (prefixedKey), so no key is another's lease; and a pattern that matches a key
 * matches its lease with this suffix, which is how invalidatePattern finds the leases on keys
 * that have no entry yet (see deletePattern).
 */
const LEASE_SUFFIX = '\u0000lease';

/**
 * GET key, through sendCommand: node-redis's command methods add two async frames (the method
 * and _executeCommand) on top of it, which measured 0.3–0.4 µs of CPU per call on the hit path
 * (bench/cache.bench.ts). The reply is the same: a string, or null.
 */
function getRaw(c: Client, key: string): Promise<string | null> {
  return c.sendCommand<string | null>(['GET', key]);
}

/** A promise of what fn returns, rejected with what it throws. */
function settled<R>(fn: () => R | Promise<R>): Promise<R> {
  return new Promise<R>((resolve) => resolve(fn()));
}

export class RedisStore implements CacheStore {
  readonly kind = 'redis' as const;
  readonly client: NodeRedisClient;
  readonly #guard: Guard;
  readonly #tagPrefix: string;
  readonly #keyPrefix: string;
  readonly #firstConnectWaitMs: number;
  readonly #jsonEntries: boolean;
  #everReady: boolean;

  /** `jsonEntries`: values come from the default serializer, so its checked JSON (`c`) may be stored as a JSON entry (entry.ts). */
  constructor(client: NodeRedisClient, guard: Guard, opts: { keyPrefix: string; firstConnectWaitMs: number; jsonEntries: boolean }) {
    this.client = client;
    this.#guard = guard;
    this.#keyPrefix = opts.keyPrefix;
    this.#tagPrefix = tagKeyPrefix(opts.keyPrefix);
    this.#firstConnectWaitMs = opts.firstConnectWaitMs;
    this.#jsonEntries = opts.jsonEntries;
    this.#everReady = client.isReady;
    if (!this.#everReady) {
      client.once('ready', () => {
        this.#everReady = true;
      });
    }
  }

  /**
   * Runs one call under the deadline. A client that is not ready fails at once: no offline
   * queue grows while Redis is away, whoever configured the client.
   */
  run<T>(operation: string, call: (client: NodeRedisClient) => Promise<T>): Promise<T> {
    if (!this.client.isReady) return this.#firstConnect(operation).then(() => this.run(operation, call));
    return this.#guard.run(operation, () => call(this.client));
  }

  /**
   * A client that is not ready fails at once, with one exception: calls made right after the
   * cache was created, while the very first connection is still being set up, wait for it up to
   * the command deadline (`createCache(...)` then `await cache.set(...)` just works). After
   * that, a client that is reconnecting is not waited for. Resolves once ready; rejects typed.
   */
  #firstConnect(operation: string): Promise<void> {
    const c = this.client;
    if (!this.#everReady && c.isOpen) {
      return new Promise<void>((resolve, reject) => {
        const onReady = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          c.off('ready', onReady);
          reject(new RedisUnavailableError(`Redis ${operation} skipped: still connecting after ${this.#firstConnectWaitMs} ms`));
        }, this.#firstConnectWaitMs);
        c.once('ready', onReady);
      });
    }
    return Promise.reject(new RedisUnavailableError(`Redis ${operation} skipped: ${c.isOpen ? 'reconnecting' : 'not connected'}`));
  }

  /** EVALSHA, falling back to EVAL once when the server has not seen the script (restart, flush). */
  async evalScript(operation: string, script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.run(operation, (c) => c.evalSha(script.sha1, { keys, arguments: args }));
    } catch (err) {
      if (err instanceof Error && /NOSCRIPT/.test(err.message)) {
        return this.run(operation, (c) => c.eval(script.source, { keys, arguments: args }));
      }
      throw err;
    }
  }

  readEntry(key: string, tags?: readonly string[]): Promise<StoredEntry | null> {
    return this.read(new EntryLookup(key, tags));
  }

  read<R>(r: EntryRead<R>): Promise<R> {
    const c = this.client;
    if (!c.isReady) return this.#firstConnect('GET').then(() => this.read(r), (err: CacheError) => r.onError(err));
    // The circuit check and the send stay here rather than behind a callback in the guard: that
    // version measured about 4 % slower in `npm run bench` (three A/B pairs).
    let probe: boolean;
    try {
      probe = this.#guard.check('GET');
    } catch (err) {
      return settled(() => r.onError(classify('GET', err)));
    }
    const tags = r.tags;
    if (tags === undefined || tags.length === 0) return this.#guard.watch('GET', probe, getRaw(c, r.fullKey), r, this.#onRaw, this.#onFailure);
    // The caller's tag versions travel in the same batch as the GET: one round trip.
    const announced = c.mGet(tags.map((t) => this.#tagPrefix + t));
    announced.catch(noop); // awaited only when the entry is tagged
    return this.#guard.watch('GET', probe, getRaw(c, r.fullKey), r, (raw, read) => this.#onEntry(raw, read, announced), this.#onFailure);
  }

  // Made once per store: the per-read state is the EntryRead itself (see Guard.watch).
  readonly #onRaw = <R>(raw: string | null, r: EntryRead<R>): R | Promise<R> => this.#onEntry(raw, r, undefined);

  readonly #onFailure = <R>(err: CacheError, r: EntryRead<R>): R | Promise<R> => {
    if (!isWrongType(err)) return r.onError(err);
    // An entry written by an earlier version, which kept entries in a hash (field `v`, same
    // grammar), under its own deadline. The next write replaces it with a string.
    return this.run('HGET', (c) => c.hGet(r.fullKey, 'v')).then((raw) => this.#onEntry(raw, r, undefined), (e: CacheError) => r.onError(e));
  };

  #leaseKey(fullKey: string): string {
    return fullKey + LEASE_SUFFIX;
  }

  /** What onEntry returns, rejected or not, goes to the caller untouched; store failures go to onError. */
  #onEntry<R>(raw: string | null, r: EntryRead<R>, announced: Promise<(string | null)[]> | undefined): R | Promise<R> {
    if (raw === null) return r.onEntry(null);
    const e = this.#checked(parseStored(raw), r.tags, announced);
    return e instanceof Promise ? e.then((entry) => r.onEntry(entry), (err: unknown) => r.onError(classify('MGET', err))) : r.onEntry(e);
  }

  /** The entry if its tag versions are current; untagged entries pass at once. */
  #checked(entry: StoredEntry, tags: readonly string[] | undefined, announced: Promise<(string | null)[]> | undefined): StoredEntry | null | Promise<StoredEntry | null> {
    if (entry.tags.length === 0) return entry;
    return (async () => {
      const versions = new Map<string, string | null>();
      if (announced !== undefined && tags !== undefined) {
        const got = await announced;
        tags.forEach((t, i) => versions.set(t, got[i] ?? null));
      }
      // Only tags the caller did not announce cost a second round trip (under its own deadline).
      await this.#fetchVersions((keys) => this.run('MGET', (c) => c.mGet(keys)), [entry], versions);
      return tagsCurrent(entry, versions) ? entry : null;
    })();
  }

  async #fetchVersions(mGet: (keys: string[]) => Promise<(string | null)[]>, entries: readonly (StoredEntry | null)[], versions: Map<string, string | null>): Promise<void> {
    const missing = new Set<string>();
    for (const e of entries) if (e !== null) for (const [name] of e.tags) if (!versions.has(name)) missing.add(name);
    if (missing.size === 0) return;
    const names = Array.from(missing);
    const got = await mGet(names.map((n) => this.#tagPrefix + n));
    names.forEach((n, i) => versions.set(n, got[i] ?? null));
  }

  readEntries(keys: readonly string[]): Promise<(StoredEntry | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run('MGET', async (c) => {
      // One MGET for all keys. A key of another type (an entry in an earlier version's hash
      // form) reads as absent: a miss until it is next written.
      const raws = await c.mGet([...keys]);
      const entries = raws.map((raw) => (raw === null ? null : parseStored(raw)));
      const versions = new Map<string, string | null>();
      await this.#fetchVersions((k) => c.mGet(k), entries, versions);
      return entries.map((e) => (e !== null && tagsCurrent(e, versions) ? e : null));
    });
  }

  #writeArgs(e: EntryWrite): string[] {
    const fetchMs = Math.round(e.fetchMs);
    // The script stores a JSON entry when this is '1' and the entry records no tag versions.
    // String() of a finite number is a JSON number; NaN and Infinity are not.
    const json = this.#jsonEntries && e.value.charCodeAt(0) === 99 /* c */ && Number.isFinite(e.freshUntilMs) && Number.isFinite(e.graceUntilMs) && Number.isFinite(fetchMs);
    return [String(e.freshUntilMs), String(e.graceUntilMs), String(fetchMs), String(e.ttlMs), e.tags.join(';'), e.value, json ? '1' : ''];
  }

  async write(entries: readonly EntryWrite[]): Promise<void> {
    if (entries.length === 0) return;
    const args = ['', this.#tagPrefix, randomToken()];
    for (const e of entries) args.push(...this.#writeArgs(e));
    await this.evalScript('WRITE', WRITE, [...entries.map((e) => e.key), ...entries.map((e) => this.#leaseKey(e.key))], args);
  }

  async setRaw(key: string, value: string, ttlMs: number): Promise<void> {
    await this.run('SET', (c) => c.set(key, value, { expiration: { type: 'PX', value: ttlMs } }));
  }

  async acquire(key: string, req: AcquireRequest): Promise<AcquireResult> {
    const reply = await this.evalScript('ACQUIRE', ACQUIRE, [key, this.#leaseKey(key)], [
      String(req.nowMs),
      req.token,
      String(req.leaseTtlMs),
      String(req.nowMs + req.leaseTtlMs),
      req.mode,
      this.#tagPrefix,
      req.tags.join(';'),
      randomToken(),
    ]);
    if (!Array.isArray(reply) || reply.length !== 3) throw new RedisCommandError('ACQUIRE returned an unexpected reply');
    const [state, raw, lease] = reply as [unknown, unknown, unknown];
    if (lease !== 'acquired' && lease !== 'held' && lease !== 'free') throw new RedisCommandError('ACQUIRE returned an unexpected lease state');
    const entry = state !== 'absent' && typeof raw === 'string' && raw.length > 0 ? parseStored(raw) : null;
    return { entry, lease };
  }

  async commit(key: string, token: string | undefined, entry: EntryWrite): Promise<boolean> {
    const reply = await this.evalScript('WRITE', WRITE, [key, this.#leaseKey(key)], [token ?? '', this.#tagPrefix, randomToken(), ...this.#writeArgs(entry)]);
    return Number(reply) === 1;
  }

  async failSafe(key: string, token: string | undefined, expectFreshUntilMs: number, retryAtMs: number): Promise<boolean> {
    const reply = await this.evalScript('FAILSAFE', FAIL_SAFE, [key, this.#leaseKey(key)], [token ?? '', String(expectFreshUntilMs), String(retryAtMs), this.#tagPrefix]);
    return Number(reply) === 1;
  }

  async release(key: string, token: string): Promise<void> {
    await this.evalScript('RELEASE', RELEASE, [this.#leaseKey(key)], [token]);
  }

  async invalidateTags(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    await this.evalScript('INVALIDATE_TAGS', INVALIDATE_TAGS, tags.map((t) => this.#tagPrefix + t), [randomToken()]);
  }

  /**
   * Deletes entries and revokes their leases, in one MULTI. Resolves how many entries were
   * deleted: internal keys among `keys` (a pattern over the prefix returns tag versions and
   * leases too) are deleted but not counted.
   */
  delete(keys: readonly string[]): Promise<number> {
    const entries: string[] = [];
    const internal: string[] = [];
    for (const k of keys) {
      if (this.#isInternal(k)) internal.push(k);
      else {
        entries.push(k);
        internal.push(this.#leaseKey(k));
      }
    }
    if (internal.length === 0) return Promise.resolve(0);
    if (entries.length === 0) return this.run('UNLINK', (c) => c.unlink(internal)).then(() => 0);
    return this.run('UNLINK', (c) => c.multi().unlink(entries).unlink(internal).exec()).then((replies) => Number(replies[0]));
  }

  /** A lease or a tag version (`<prefix>#tag:…`), as SCAN over the prefix also returns them. */
  #isInternal(fullKey: string): boolean {
    return fullKey.endsWith(LEASE_SUFFIX) || (fullKey.charCodeAt(this.#keyPrefix.length) === 35 /* # */ && fullKey.startsWith(this.#keyPrefix));
  }

  async deletePattern(pattern: string, batchSize: number): Promise<number> {
    // The keys the pattern matches, and the leases on such keys, with or without an entry: a
    // lease taken before the invalidation must not write afterwards. SCAN MATCH `<pattern>*`
    // returns both (and possibly more); the exact pattern is applied here.
    const exact = globToRegExp(pattern);
    const wanted = (k: string): boolean => exact.test(k) || (k.endsWith(LEASE_SUFFIX) && exact.test(k.slice(0, -LEASE_SUFFIX.length)));
    let cursor = '0';
    let deleted = 0;
    // SCAN visits the keyspace in steps, so Redis never blocks the way KEYS does; UNLINK frees
    // memory off the main thread. Each step has its own deadline.
    do {
      const reply = await this.run('SCAN', (c) => c.scan(cursor, { MATCH: `${pattern}*`, COUNT: batchSize }));
      cursor = reply.cursor;
      const keys = reply.keys.filter(wanted);
      if (keys.length > 0) deleted += await this.delete(keys);
    } while (cursor !== '0');
    return deleted;
  }

  async incrBy(key: string, delta: number, ttlMs: number): Promise<number> {
    const reply = await this.evalScript('INCR', INCR_WITH_TTL, [key], [String(delta), String(ttlMs)]);
    return Number(reply);
  }

  async pttl(key: string): Promise<number | null> {
    const ms = await this.run('PTTL', (c) => c.pTTL(key));
    return ms === -2 ? null : ms;
  }

  size(): Promise<number> {
    return this.run('DBSIZE', (c) => c.dbSize());
  }

  async close(): Promise<void> {
    // The facade owns the client's lifecycle.
  }
}

function tagsCurrent(entry: StoredEntry, versions: ReadonlyMap<string, string | null>): boolean {
  for (const [name, version] of entry.tags) if (versions.get(name) !== version) return false;
  return true;
}
