import { RedisCommandError } from './errors.ts';
import { WRITE_LEASED } from './scripts.ts';
import type { RedisConnection } from './topology/connection.ts';

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

/** How a batch reaches Redis: under the store's deadline and connection checks (RedisStore.run). */
export type RunWrite = (call: (c: RedisConnection) => Promise<unknown>) => Promise<unknown>;

const firstIsOne = (reply: unknown): boolean => Array.isArray(reply) && Number(reply[0]) === 1;

/** One lease-checked write of an untagged entry, alone in its script call (a cluster, or a write that WAITs). */
export function writeLeased(c: RedisConnection, key: string, args: readonly string[]): Promise<boolean> {
  return c.evalScript(WRITE_LEASED, [key, c.leaseKey(key)], args, true).then(firstIsOne);
}

/**
 * The lease-checked writes of untagged entries (a miss's last step) issued in one run of
 * JavaScript, sent together in one WRITE_LEASED call at its end: a microtask queued by the first
 * of them. A script call costs Redis several times the commands it runs (`npm run bench`,
 * `INFO commandstats`: one write per call about 12 µs, 21 per call 7.0 µs each, a `SET` 1.5), so
 * misses that finish together share one. The call is sent inline (EVAL, never NOSCRIPT) and
 * before anything a caller does once getOrSet has answered, since that answer reaches it through
 * promise jobs queued after this microtask: the order of this process's calls holds. For one
 * Redis or Sentinel: on a cluster the keys of one call must share a slot.
 */
export class LeasedWrites {
  #batch: Pending[] | undefined;

  constructor(private readonly runWrite: RunWrite) {}

  /** Queues the write; resolves whether the token still held the lease and the entry was written. */
  write(key: string, args: readonly string[]): Promise<boolean> {
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
