/**
 * A table by key of what a call in flight holds (a read on the wire, a fetch, a write), for
 * tables whose entries come and go with every call: `get`, `has`, `set`, `delete` and `size` as
 * a `Map`'s.
 *
 * Why not a `Map` of the values: V8 gives a `Map` a new hash table as it grows, shrinks or
 * fills with deleted entries, and the old table keeps what it held. Once a table has lived long
 * enough to be promoted to the old generation, the young-generation collector cannot tell that
 * it is no longer used, so everything its slots reached survives each collection and is
 * promoted in turn: here a call's whole state (its read, fetcher, value, entry). Measured at 64
 * misses in flight (`node --trace-gc-nvp`, scratch harness): with `Map`s of the calls, 0.39 MB
 * promoted per scavenge (1.1 MB with an in-flight fetch per miss) and 2.0–3.4 ms pauses; with
 * this table 0.04–0.09 MB and 1.1–1.5 ms, and 5–30 % less Node.js CPU per miss.
 *
 * So the `Map` here maps a key to a small integer, its slot, and the values live in one array
 * that a delete clears, so no copy of it is left holding a call that has finished. The array
 * grows to the most entries held at once and is dropped when the table empties.
 */
export class KeyTable<V> {
  readonly #slotOf = new Map<string, number>();
  #values: (V | undefined)[] = [];
  #free: number[] = [];

  get size(): number {
    return this.#slotOf.size;
  }

  get(key: string): V | undefined {
    const slot = this.#slotOf.get(key);
    return slot === undefined ? undefined : this.#values[slot];
  }

  has(key: string): boolean {
    return this.#slotOf.has(key);
  }

  set(key: string, value: V): void {
    const held = this.#slotOf.get(key);
    if (held !== undefined) {
      this.#values[held] = value;
      return;
    }
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#values.length;
      this.#values.push(value);
    } else {
      this.#values[slot] = value;
    }
    this.#slotOf.set(key, slot);
  }

  delete(key: string): boolean {
    const slot = this.#slotOf.get(key);
    if (slot === undefined) return false;
    this.#slotOf.delete(key);
    if (this.#slotOf.size === 0) {
      // Every slot is free: start again rather than keep a burst's high-water mark.
      this.#values = [];
      this.#free = [];
    } else {
      this.#values[slot] = undefined;
      this.#free.push(slot);
    }
    return true;
  }
}
