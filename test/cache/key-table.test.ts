import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { hashOf, KeyTable } from '../../src/cache/key-table.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A value the test can watch being collected, built in a function so no local keeps it. */
function tracked(table: KeyTable<object>, key: string): WeakRef<object> {
  const value = { key, payload: new Array(64).fill(key) };
  table.set(key, value);
  return new WeakRef(value);
}

describe('KeyTable', () => {
  // Few keys: entries collide and deletes move the ones after them back. Many: the table grows
  // past its first size, then empties and starts again.
  it.each([40, 3_000])('answers get, has, size and delete as a Map does, over random operations on %i keys', (keys) => {
    const table = new KeyTable<number>();
    const model = new Map<string, number>();
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const check = (key: string): void => {
      expect(table.get(key)).toBe(model.get(key));
      expect(table.has(key)).toBe(model.has(key));
      expect(table.size).toBe(model.size);
    };
    for (let phase = 0; phase < 2; phase++) {
      for (let i = 0; i < 20_000; i++) {
        const key = `app:user:${next(keys)}:profile`;
        // Mostly sets while the table fills, mostly deletes once it is large.
        if (next(10) < (model.size < keys / 2 ? 6 : 3)) {
          table.set(key, i);
          model.set(key, i);
        } else {
          expect(table.delete(key)).toBe(model.delete(key));
        }
        check(key);
      }
      // Every key still held answers its latest value; then all go, and the table starts again.
      for (const [key, value] of model) expect(table.get(key)).toBe(value);
      for (const key of [...model.keys()]) {
        expect(table.delete(key)).toBe(true);
        model.delete(key);
        check(key);
      }
      expect(table.size).toBe(0);
    }
  });

  it('spreads keys that differ only in the high bits of their characters over the low bits a slot takes', () => {
    // 256 keys whose code units agree in their low 8 bits: an FNV hash without the final mix gives
    // them all one low byte, so in a table of up to 256 slots they would all probe from one slot.
    const keys = Array.from({ length: 256 }, (_, i) => `user:${String.fromCharCode(0x100 * (i + 1))}:profile`);
    const lowBytes = new Set(keys.map((k) => hashOf(k) & 0xff));
    expect(lowBytes.size).toBeGreaterThan(128);
  });

  it('deletes with deleteIf only while the key maps to the value given', () => {
    const table = new KeyTable<object>();
    const mine = {};
    const theirs = {};
    table.set('k', theirs);
    expect(table.deleteIf('k', mine)).toBe(false);
    expect(table.get('k')).toBe(theirs);
    expect(table.deleteIf('absent', mine)).toBe(false);
    expect(table.deleteIf('k', theirs)).toBe(true);
    expect(table.has('k')).toBe(false);
    expect(table.size).toBe(0);
  });

  it('replaces the value of a key it holds', () => {
    const table = new KeyTable<string>();
    table.set('a', 'first');
    table.set('b', 'other');
    table.set('a', 'second');
    expect(table.size).toBe(2);
    expect(table.get('a')).toBe('second');
    expect(table.delete('a')).toBe(true);
    expect(table.get('a')).toBeUndefined();
    expect(table.get('b')).toBe('other');
    expect(table.delete('a')).toBe(false);
  });

  it('keeps no reference to a deleted value, whether entries remain or the table empties', async () => {
    const table = new KeyTable<object>();
    const kept = tracked(table, 'kept');
    const deleted = tracked(table, 'deleted');
    const burst = Array.from({ length: 100 }, (_, i) => tracked(table, `burst:${i}`));
    table.delete('deleted');
    for (let i = 0; i < 100; i++) table.delete(`burst:${i}`);
    // WeakRef targets live at least until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(deleted.deref()).toBeUndefined();
    expect(burst.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(kept.deref()).toBe(table.get('kept'));

    table.delete('kept');
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(kept.deref()).toBeUndefined();
    expect(table.size).toBe(0);
  });
});
