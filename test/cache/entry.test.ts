import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRefs, parseStored, parseStoredGeneral, type StoredEntry, type TagRef } from '../../src/cache/entry.ts';

/** The grammar written out plainly, with split and Number: what parseStored's one-pass reader must agree with. */
function reference(raw: string): StoredEntry {
  const bar = raw.indexOf('|');
  const head = bar < 0 ? [] : raw.slice(0, bar).split(';');
  const plain: StoredEntry = { value: raw, decoded: undefined, freshUntilMs: Infinity, graceUntilMs: Infinity, fetchMs: 0, failSafe: false, tags: [] };
  if (head.length < 4) return plain;
  const [fresh, grace, fetch, failSafe, ...refs] = head as [string, string, string, string, ...string[]];
  const num = (s: string): number => (s === '' ? Number.NaN : Number(s));
  const nums = [num(fresh), num(grace), num(fetch)] as const;
  if (nums.some(Number.isNaN)) return plain;
  return {
    value: raw.slice(bar + 1),
    decoded: undefined,
    freshUntilMs: nums[0],
    graceUntilMs: nums[1],
    fetchMs: nums[2],
    failSafe: failSafe.startsWith('1'),
    tags: refs.filter((r) => r.length > 0).map((r): TagRef => [r.slice(0, r.indexOf('=')), r.slice(r.indexOf('=') + 1)]),
  };
}

const number = fc.oneof(
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map(String),
  fc.constantFrom('', '1.5', '1e3', '17950000000000000', '12345678901234567', '98765432109876543219', '-5', 'x', '0007'),
  fc.bigInt({ min: 0n, max: 10n ** 22n }).map(String),
);
const header = fc.tuple(number, number, number, fc.constantFrom('0', '1'), fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,4}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,6}$/)), { maxLength: 2 }));

describe('parseStored', () => {
  it('reads the usual header in one pass', () => {
    expect(parseStored('1795000000000;1795000030000;42;0|c{"a":1}')).toEqual({ value: 'c{"a":1}', decoded: undefined, freshUntilMs: 1795000000000, graceUntilMs: 1795000030000, fetchMs: 42, failSafe: false, tags: [] });
    expect(parseStored('5;6;0;1|c1').failSafe).toBe(true);
    expect(parseStored('5;6;0;0;guild:1=v1|c1').tags).toEqual([['guild:1', 'v1']]);
    expect(parseStored('5;6;0;0|c1|2').value).toBe('c1|2');
  });

  it('agrees with the plain reading of the grammar on any header the writers produce, tags and odd numbers included', () => {
    fc.assert(
      fc.property(header, fc.string(), ([fresh, grace, fetch, failSafe, refs], value) => {
        const raw = `${fresh};${grace};${fetch};${failSafe}${formatRefs(refs)}|${value}`;
        expect(parseStored(raw)).toEqual(reference(raw));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with the general reader on every input, malformed ones included', () => {
    const headerish = fc.array(fc.constantFrom('0', '1', '9', ';', '|', '.', 'e', '-', '=', 'a', ' ', '[', ']', ','), { maxLength: 40 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.oneof(headerish, fc.string()), fc.string({ maxLength: 8 }), (head, tail) => {
        const raw = head + tail;
        expect(parseStored(raw)).toEqual(parseStoredGeneral(raw));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads a JSON entry: header and value from one JSON.parse', () => {
    fc.assert(
      fc.property(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.constantFrom(0, 1)), fc.jsonValue(), ([fresh, grace, fetch, failSafe], value) => {
        const raw = `[${fresh},${grace},${fetch},${failSafe},${JSON.stringify(value)}]`;
        expect(parseStored(raw)).toEqual({ value: raw, decoded: JSON.parse(JSON.stringify(value)) as unknown, freshUntilMs: fresh, graceUntilMs: grace, fetchMs: fetch, failSafe: failSafe === 1, tags: [] });
        expect(parseStoredGeneral(raw)).toEqual(parseStored(raw));
      }),
      { numRuns: 1000 },
    );
    expect(parseStored('[1,2,3,0,null]').decoded).toBeNull();
  });

  it('keeps a malformed JSON entry whole, as a value that will not decode', () => {
    for (const raw of ['[1,2,3,0]', '[1,2,3,2,{}]', '["1",2,3,0,1]', '[1,2,3,0,1', '[1,2,3,0,1,2]', '[]', '[1,2,"3",0,1]']) {
      expect(parseStored(raw)).toEqual({ value: raw, decoded: undefined, freshUntilMs: Infinity, graceUntilMs: Infinity, fetchMs: 0, failSafe: false, tags: [] });
    }
  });
});
