/**
 * A table by key of what a call in flight holds (a read on the wire, a fetch, a write), for
 * tables whose entries come and go with every call: `get`, `has`, `set`, `delete` and `size` as
 * a `Map`'s, and `deleteIf` for the entry a call itself put there.
 *
 * Why not a `Map`: V8 gives a `Map` a new hash table as it grows, shrinks or fills with deleted
 * entries, and the table it leaves keeps what it held. Once a table has been promoted to the old
 * generation, the young-generation collector (the scavenger) cannot tell that it is garbage, so
 * every key and value its slots reached survives each scavenge and is promoted in turn, until a
 * full collection. With a call's state as the values, that is the call's whole state, long after
 * the call has finished. Measured:
 * - 64 misses in flight (`npm run bench:miss-gc`, bench/results/2026-12-01-miss-gc.md): getOrSet
 *   promoted 380–384 KB per scavenge with the `Map`s of c4ee215 (832–864 KB with an async
 *   fetcher), 86–87 KB with the first version of this table, which still mapped keys to slots
 *   through a `Map`, and 46 KB (44–45) with this one;
 * - 3 million set-and-delete pairs with 64 entries held (a scratch script): a `Map` promoted
 *   5.0 MB per scavenge and took 8.1 s, a `Map` of keys to slot numbers 1.8–2.6 MB and 2.7–3.0 s,
 *   this table nothing and 1.0 s (0.7 s without any table).
 *
 * So this is an open-addressing table (linear probing, at most half full) in three arrays that
 * it never lets go of with anything in them: a delete clears the entry's slots (moving back the
 * entries after it that probed past it, so no tombstones are left), a resize empties the arrays
 * it leaves, and an emptied table that had grown past its first size starts again at that size.
 */
import { randomInt } from 'node:crypto';

const INITIAL_CAPACITY = 64;

/**
 * The hash's starting state, drawn per process. Keys can come from requests, and with a fixed
 * hash a client could choose keys that all land in one run of slots, so that every lookup walks
 * all of them (V8 seeds its own string hashes for the same reason).
 */
const SEED = randomInt(0x7fffffff);

/**
 * FNV-1a over UTF-16 code units from the seed, then MurmurHash3's final mix. The mix matters:
 * the table takes the low bits, and FNV's low bits depend only on the low bits of each code
 * unit, so keys differing only in higher bits would share a slot whatever the seed. Exported for
 * its test only.
 */
export function hashOf(key: string): number {
  let h = (0x811c9dc5 ^ SEED) | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class KeyTable<V> {
  #keys: (string | undefined)[] = new Array<string | undefined>(INITIAL_CAPACITY).fill(undefined);
  #values: (V | undefined)[] = new Array<V | undefined>(INITIAL_CAPACITY).fill(undefined);
  #hashes = new Int32Array(INITIAL_CAPACITY);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The slot holding key, or the one's complement of the empty slot where it would go. */
  #find(key: string, hash: number): number {
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === undefined) return ~i;
      if (this.#hashes[i] === hash && k === key) return i;
    }
  }

  get(key: string): V | undefined {
    if (this.#size === 0) return undefined;
    const i = this.#find(key, hashOf(key));
    return i < 0 ? undefined : this.#values[i];
  }

  has(key: string): boolean {
    return this.#size !== 0 && this.#find(key, hashOf(key)) >= 0;
  }

  set(key: string, value: V): void {
    const hash = hashOf(key);
    let i = this.#find(key, hash);
    if (i >= 0) {
      this.#values[i] = value;
      return;
    }
    if ((this.#size + 1) * 2 > this.#keys.length) {
      this.#resize(this.#keys.length * 2);
      i = this.#find(key, hash);
    }
    i = ~i;
    this.#keys[i] = key;
    this.#values[i] = value;
    this.#hashes[i] = hash;
    this.#size++;
  }

  delete(key: string): boolean {
    if (this.#size === 0) return false;
    const i = this.#find(key, hashOf(key));
    if (i < 0) return false;
    this.#removeAt(i);
    return true;
  }

  /** Deletes key only while it maps to `value` (one lookup, where `get` then `delete` takes two). */
  deleteIf(key: string, value: V): boolean {
    if (this.#size === 0) return false;
    const i = this.#find(key, hashOf(key));
    if (i < 0 || this.#values[i] !== value) return false;
    this.#removeAt(i);
    return true;
  }

  #removeAt(slot: number): void {
    let i = slot;
    const keys = this.#keys;
    const values = this.#values;
    const hashes = this.#hashes;
    const mask = keys.length - 1;
    // Backward-shift deletion: an entry after the hole moves into it unless its home slot lies
    // between the hole and where it sits, so every entry stays reachable from its home.
    for (let j = (i + 1) & mask; keys[j] !== undefined; j = (j + 1) & mask) {
      const home = (hashes[j] as number) & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        keys[i] = keys[j];
        values[i] = values[j];
        hashes[i] = hashes[j] as number;
        i = j;
      }
    }
    keys[i] = undefined;
    values[i] = undefined;
    this.#size--;
    // Every slot is empty now: a burst's capacity is not kept for the quiet after it.
    if (this.#size === 0 && keys.length > INITIAL_CAPACITY) this.#reset(INITIAL_CAPACITY);
  }

  #reset(capacity: number): void {
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#hashes = new Int32Array(capacity);
  }

  #resize(capacity: number): void {
    const keys = this.#keys;
    const values = this.#values;
    const hashes = this.#hashes;
    this.#reset(capacity);
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      if (k === undefined) continue;
      const hash = hashes[j] as number;
      const i = ~this.#find(k, hash);
      this.#keys[i] = k;
      this.#values[i] = values[j];
      this.#hashes[i] = hash;
      // The arrays left behind hold nothing (see the class comment).
      keys[j] = undefined;
      values[j] = undefined;
    }
  }
}
