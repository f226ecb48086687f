import { describe, expect, it } from 'vitest';
import { decode, encode } from '../../src/cache/serializer.ts';

describe('serializer markers', () => {
  it('plain JSON checked clean at write time is marked c and decodes with a bare JSON.parse', () => {
    const raw = encode({ id: 1, name: 'Ada', tags: ['a'] });
    expect(raw).toBe('c{"id":1,"name":"Ada","tags":["a"]}');
    expect(decode(raw)).toEqual({ id: 1, name: 'Ada', tags: ['a'] });
  });

  it('plain JSON that holds __proto__ or constructor anywhere is marked j and sanitized when read', () => {
    const evil = JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"x":1}') as object;
    const raw = encode(evil);
    expect(raw.startsWith('j')).toBe(true);
    const back = decode(raw) as Record<string, unknown>;
    expect(back).toEqual({ x: 1 });
    expect(Object.hasOwn(back, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // The names are looked for among keys, at any depth; a string value that merely mentions one is c.
    const nested = encode({ a: [{ b: JSON.parse('{"__proto__":{"p":1},"y":2}') as object }] });
    expect(nested.startsWith('j')).toBe(true);
    expect(decode(nested)).toEqual({ a: [{ b: { y: 2 } }] });
    expect(encode({ list: [{ constructor: 'x' }] }).startsWith('j')).toBe(true);
    const text = encode({ bio: 'my constructor', __proto_: '__proto__' });
    expect(text.startsWith('c')).toBe(true);
    expect(decode(text)).toEqual({ bio: 'my constructor', __proto_: '__proto__' });
  });

  it('j entries written before the c marker existed are still read, and still sanitized', () => {
    expect(decode('j{"a":1}')).toEqual({ a: 1 });
    expect(decode('j{"__proto__":{"p":1},"a":1}')).toEqual({ a: 1 });
  });
});

describe('plain data skips the replacer, anything else takes it', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  const deep = (n: number): unknown => (n === 0 ? { leaf: true } : { next: deep(n - 1) });
  it.each([
    ['a plain profile', { id: 1, name: 'Ada', tags: ['a', 'b'], nested: { ok: true, n: null } }, 'c'],
    ['an object without a prototype', Object.assign(Object.create(null) as object, { a: 1 }), 'c'],
    ['a Date three levels down', { a: [{ b: { at: new Date(5) } }] }, 't'],
    ['a BigInt in an array', [1n], 't'],
    ['a Map', { m: new Map([[1, 2]]) }, 't'],
    ['a Set', new Set([1]), 't'],
    ['the tag key used by the caller', { $rcl: 'D', v: 1 }, 't'],
    ['a class instance (its JSON is its own fields)', { p: new Point(1, 2) }, 'c'],
    ['an object with toJSON', { a: { toJSON: () => 'x' } }, 'c'],
    ['a __proto__ key', JSON.parse('{"__proto__":{"admin":true}}') as unknown, 'j'],
    ['nesting deeper than the walk goes', deep(100), 'c'],
  ])('%s', (_name, value, marker) => {
    const encoded = encode(value);
    expect(encoded[0]).toBe(marker);
    // What the replacer-only encoder wrote for these values, checked by decoding it back.
    const expected: unknown = marker === 't' ? value : marker === 'j' ? {} : JSON.parse(JSON.stringify(value));
    expect(decode(encoded)).toEqual(expected);
  });

  it('a cycle is still reported as a TypeError', () => {
    const a: Record<string, unknown> = {};
    a['self'] = a;
    expect(() => encode(a)).toThrow(TypeError);
    expect(() => encode(undefined)).toThrow(TypeError);
  });
});
