import { KeyTable } from './key-table.ts';
import type { LeasingRead } from './store.ts';

/** A leasing read that found another of its key on the wire and waits for that one's answer. */
interface Follower {
  readonly read: LeasingRead<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Leasing reads of one key that this process starts while one is already on the wire share it
 * (RedisStore.readOrLease): the first is sent, the others follow it, and its answer is then
 * handed to each follower as that follower's own, with one difference: a lease the first took is
 * the first's, so to a follower it is held, and the follower joins the first's resolution in this
 * process (Resolver.resolve), as it would after reading the first's marker itself. N concurrent
 * misses of a hot key are then one command, not N: a stampede's thousand callers on four
 * instances send four leasing reads (`npm run bench`).
 *
 * Why the shared answer is still a read of the follower's own: the follower started while the
 * first read was unanswered, and every command of this process on the key goes out on one
 * connection, which answers in order. A write or invalidation of the key sent after the first read
 * therefore completes after that read's answer, that is after the follower started: the two
 * overlap, and the follower may be ordered before it. The first leaves this table when its answer
 * (or error, or deadline) is handled, before anything sent after it completes. Where one
 * connection does not carry it all (invalidations that WAIT for replicas go on their own; a
 * cluster's redirections can reorder a slot's commands), the store shares no reads.
 */
export class SharedLeasingReads {
  /** The leasing read on the wire, by key (a KeyTable: every leasing read enters it). */
  readonly #first = new KeyTable<LeasingRead<unknown>>();
  /** The followers of a read on the wire, made with the first follower. */
  readonly #followers = new Map<LeasingRead<unknown>, Follower[]>();

  /** The leasing read of key on the wire, if there is one to follow. */
  first(key: string): LeasingRead<unknown> | undefined {
    return this.#first.get(key);
  }

  /** r, whose key has `first` on the wire, waits for first's answer (see answered). */
  follow<R>(first: LeasingRead<unknown>, r: LeasingRead<R>): Promise<R> {
    first.followed = true;
    return new Promise<R>((resolve, reject) => {
      const follower: Follower = { read: r, resolve: resolve as (value: unknown) => void, reject };
      const list = this.#followers.get(first);
      if (list === undefined) this.#followers.set(first, [follower]);
      else list.push(follower);
    });
  }

  /** r has been sent: later leasing reads of its key follow it until it is answered. */
  sent(r: LeasingRead<unknown>): void {
    this.#first.set(r.fullKey, r);
  }

  /**
   * r's answer (or error, or deadline) is being handled: r leaves the table, and each follower
   * settles with what `handle(follower, arg)` returns for it (what it throws rejects that
   * follower). The handler is made once by the store and `arg` carries the answer: a read with
   * no followers allocates nothing here.
   */
  answered<A>(r: LeasingRead<unknown>, handle: (follower: LeasingRead<unknown>, arg: A) => unknown, arg: A): void {
    if (!this.#first.deleteIf(r.fullKey, r)) return;
    const followers = this.#followers.size === 0 ? undefined : this.#followers.get(r);
    if (followers === undefined) return;
    this.#followers.delete(r);
    for (const f of followers) {
      try {
        f.resolve(handle(f.read, arg));
      } catch (err) {
        f.reject(err);
      }
    }
  }
}
