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
    // A string value that merely mentions a name is marked j too: the check errs on the safe side.
    const text = encode({ bio: 'my constructor' });
    expect(text.startsWith('j')).toBe(true);
    expect(decode(text)).toEqual({ bio: 'my constructor' });
  });

  it('j entries written before the c marker existed are still read, and still sanitized', () => {
    expect(decode('j{"a":1}')).toEqual({ a: 1 });
    expect(decode('j{"__proto__":{"p":1},"a":1}')).toEqual({ a: 1 });
  });
});
