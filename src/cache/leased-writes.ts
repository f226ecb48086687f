import { leaseMarker } from './entry.ts';
import { RedisCommandError } from './errors.ts';
import { isSyntaxError, isWrongType } from './guard.ts';
import { KeyTable } from './key-table.ts';
import { WRITE_LEASED } from './scripts.ts';
import { isOk, type RedisConnection } from './topology/connection.ts';

/** Leased writes sent in one script call at most: the call runs atomically, blocking Redis meanwhile. */
const MAX_BATCH = 32;

/** A leased write waiting for the end of the current run of JavaScript. */
interface Pending {
  readonly key: string;
  /** WRITE_LEASED's three arguments for this entry: token, stored text, ttlMs. */
  readonly args: readonly string[];
  resolve(written: boolean): void;
  reject(err: unknown): void;
}

/** How a write reaches Redis: under the store's deadline and connection checks (RedisStore.run). */
export type RunWrite = <T>(call: (c: RedisConnection) => Promise<T>) => Promise<T>;

const firstIsOne = (reply: unknown): boolean => Array.isArray(reply) && Number(reply[0]) === 1;

/** One lease-checked write of an untagged entry, alone in its script call (a cluster, or a write that WAITs). */
export function writeLeased(c: RedisConnection, key: string, args: readonly string[]): Promise<boolean> {
  return c.evalScript(WRITE_LEASED, [key, c.leaseKey(key)], args, true).then(firstIsOne);
}

/**
 * The lease-checked writes of untagged entries (a miss's last step): a plain `SET … IFEQ` each
 * where Redis has it (see `write`), and otherwise the WRITE_LEASED script. On one Redis or
 * Sentinel, the scripted writes issued in one run of JavaScript are sent together in one
 * WRITE_LEASED call at its end: a microtask queued by the first of them. A script call costs
 * Redis several times the commands it runs (`npm run bench`, `INFO commandstats`: one write per
 * call about 12 µs, 21 per call 7.0 µs each, a `SET` 1.5), so misses that finish together share
 * one. The call is sent inline (EVAL, never NOSCRIPT) and before anything a caller does once
 * getOrSet has answered, since that answer reaches it through promise jobs queued after this
 * microtask: the order of this process's calls holds. On a cluster, where the keys of one call
 * must share a slot, each scripted write is a call of its own.
 */
export class LeasedWrites {
  #batch: Pending[] | undefined;
  /**
   * Whether Redis takes `SET … IFEQ` (Valkey ≥ 8.1, Redis ≥ 8.4), learnt from the first write's
   * answer. While it is not 'no', a write is first that plain command (see `write`).
   */
  #compareAndSet: 'unknown' | 'yes' | 'no' = 'unknown';
  /** `SET … IFEQ` writes in flight by key, until their last step settles: what this process's reads of the key wait for. */
  readonly #unsettled = new KeyTable<Promise<boolean>>();

  /** `oneScriptPerWrite`: no batching (a cluster, where one script call's keys must share a slot). */
  constructor(
    private readonly runWrite: RunWrite,
    private readonly oneScriptPerWrite: boolean,
  ) {}

  /**
   * Writes `text` under key for ttlMs if `token` still holds its lease; resolves whether it did.
   * `marker`: the lease is a marker under the key (scripts.ts). Then, where Redis has
   * `SET … IFEQ`, the write is `SET <key> <text> IFEQ <marker> PX <ttlMs>`, one plain command (no
   * script: `npm run bench:miss-protocols` prices the difference). When that finds something
   * else under the key (a marker a waiter flagged, a revoked or lost lease, an old hash entry)
   * the script decides, and announces the write to waiters. A Redis without IFEQ
   * answers the first write with a syntax error: from then on, the script alone.
   *
   * The first step is sent at once, ahead of any later call of this process; a second step is
   * not, so until the write has settled this process's reads of the key wait for it (`settling`):
   * read-your-writes holds as with the script. A later `del` or `set` need not wait: it revokes
   * the lease, and the script then writes nothing after it.
   */
  write(key: string, token: string, text: string, ttlMs: number, marker: boolean): Promise<boolean> {
    // A lease key beside an entry: IFEQ would find the entry, never the marker.
    if (this.#compareAndSet === 'no' || !marker) return this.#scripted(key, [token, text, String(ttlMs)]);
    const written: Promise<boolean> = this.#compareAndSetWrite(key, text, token, ttlMs, () => {
      this.#unsettled.deleteIf(key, written);
    });
    this.#unsettled.set(key, written);
    return written;
  }

  /** The script as a `SET … IFEQ` write's second step; `settled` runs once it has settled. */
  #secondStep(key: string, token: string, text: string, ttlMs: number, settled: () => void): Promise<boolean> {
    const last = this.#scripted(key, [token, text, String(ttlMs)]);
    last.then(settled, settled);
    return last;
  }

  /**
   * Whether the first write has shown if Redis takes `SET … IFEQ`. Until then a write may meet a
   * syntax error and go to the script a round trip later, after calls sent meanwhile: getOrSet
   * then awaits its write rather than answering first (CacheStore.ordersUntaggedWrites).
   */
  get learnt(): boolean {
    return this.#compareAndSet !== 'unknown';
  }

  /** The write of key this process has in flight as `SET … IFEQ`, for a read of the key to wait for; undefined when there is none. */
  settling(key: string): Promise<boolean> | undefined {
    return this.#unsettled.get(key);
  }

  /** `SET … IFEQ`, then the script if that found something else under the key; `settled` runs once either has settled. */
  #compareAndSetWrite(key: string, text: string, token: string, ttlMs: number, settled: () => void): Promise<boolean> {
    return this.runWrite((c) => c.setIfEqual(key, text, leaseMarker(token), ttlMs)).then(
      (reply) => {
        this.#compareAndSet = 'yes';
        if (!isOk(reply)) return this.#secondStep(key, token, text, ttlMs, settled);
        settled();
        return true;
      },
      (err: unknown) => {
        if (isSyntaxError(err)) this.#compareAndSet = 'no';
        // A key of another type: an entry in an earlier version's hash form, its lease beside it.
        else if (!isWrongType(err)) {
          settled();
          throw err;
        }
        return this.#secondStep(key, token, text, ttlMs, settled);
      },
    );
  }

  #scripted(key: string, args: readonly string[]): Promise<boolean> {
    if (this.oneScriptPerWrite) return this.runWrite((c) => writeLeased(c, key, args));
    return new Promise<boolean>((resolve, reject) => {
      if (this.#batch === undefined) {
        this.#batch = [];
        queueMicrotask(this.#flush);
      }
      this.#batch.push({ key, args, resolve, reject });
    });
  }

  readonly #flush = (): void => {
    const batch = this.#batch ?? [];
    this.#batch = undefined;
    for (let from = 0; from < batch.length; from += MAX_BATCH) {
      const part = batch.slice(from, from + MAX_BATCH);
      this.runWrite((c) => {
        // Plain loops: the map/flatMap version cost about 1 µs per miss (CPU profile, 64 in flight).
        const n = part.length;
        const keys = new Array<string>(2 * n);
        const args: string[] = [];
        for (let i = 0; i < n; i++) {
          const w = part[i] as Pending;
          keys[i] = w.key;
          keys[n + i] = c.leaseKey(w.key);
          for (const a of w.args) args.push(a);
        }
        return c.evalScript(WRITE_LEASED, keys, args, true);
      }).then(
        (reply) => {
          if (!Array.isArray(reply) || reply.length !== part.length) {
            const err = new RedisCommandError('WRITE_LEASED returned an unexpected reply');
            for (const w of part) w.reject(err);
            return;
          }
          part.forEach((w, i) => w.resolve(Number(reply[i]) === 1));
        },
        (err: unknown) => {
          for (const w of part) w.reject(err);
        },
      );
    }
  };
}
