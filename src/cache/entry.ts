import { randomBytes } from 'node:crypto';

/**
 * A cache entry as both stores hold it, and its wire format in Redis.
 *
 * In Redis an entry is a string under its key (its lease, while one is taken, is a key of its
 * own: see scripts.ts and DESIGN.md), in one of two forms:
 *
 * - a JSON entry, `[<freshUntil>,<graceUntil>,<fetchMs>,<failSafe>,<value JSON>]`: an untagged
 *   value from the default serializer that its encoder checked clean (marker `c`). One
 *   `JSON.parse` reads header and value together: the hit path runs no JavaScript over the
 *   header's characters, which costs 0.24–0.52 µs per hit (`npm run bench:hit-cpu`; DESIGN.md, Costs).
 * - the general form, `<freshUntil>;<graceUntil>;<fetchMs>;<failSafe>[;<tag>=<version>…]|<encoded value>`:
 *   tagged entries, other serializer markers, custom serializers.
 *
 * The hit path is one GET. Everything the hit needs (freshness, grace, XFetch's delta, the tag
 * versions to check) is in the header, which the Lua scripts parse with the same grammar. Times
 * are the writer's clock in ms.
 * A string that is neither form (a counter, or a value written by other code) is read as a
 * value that never goes stale.
 */

/** A tag an entry was written under, with the tag's version at the time. */
export type TagRef = readonly [name: string, version: string];

export interface StoredEntry {
  /** The encoded value (serializer output); for a JSON entry, the whole stored text. */
  readonly value: string;
  /**
   * A JSON entry's value, already parsed (JSON has no `undefined`, so undefined means "decode
   * `value`"). Only a cache on the default serializer may use it: it is what that serializer's
   * `decode` would return for the value.
   */
  readonly decoded: unknown;
  /** Clock ms from which the value is stale. +Infinity for plain strings. */
  readonly freshUntilMs: number;
  /** Clock ms from which the value may not be served at all, even stale. */
  readonly graceUntilMs: number;
  /** How long the fetch that produced it took (XFetch's delta); 0 when unknown (set, setMany). */
  readonly fetchMs: number;
  /** freshUntilMs was pushed out by fail-safe after a failed refresh: serve it, flagged stale. */
  readonly failSafe: boolean;
  readonly tags: readonly TagRef[];
}

/** One entry to write. */
export interface EntryWrite {
  readonly key: string;
  readonly value: string;
  readonly freshUntilMs: number;
  readonly graceUntilMs: number;
  readonly fetchMs: number;
  /** Physical lifetime in ms (Redis PEXPIRE): TTL + grace. */
  readonly ttlMs: number;
  /** Tag names; their current versions are recorded (without a lease) at write time. */
  readonly tags: readonly string[];
}

const NO_REFS: readonly TagRef[] = [];

export function plainEntry(value: string): StoredEntry {
  return { value, decoded: undefined, freshUntilMs: Infinity, graceUntilMs: Infinity, fetchMs: 0, failSafe: false, tags: NO_REFS };
}

/** Parses `;a=v1;b=v2`. */
export function parseRefs(refs: string): readonly TagRef[] {
  if (refs.length === 0) return NO_REFS;
  const out: TagRef[] = [];
  for (const part of refs.split(';')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    out.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  return out;
}

export function formatRefs(refs: readonly TagRef[]): string {
  let s = '';
  for (const [name, version] of refs) s += `;${name}=${version}`;
  return s;
}

/**
 * Parses a stored entry. A header that does not parse yields the raw string as the value, so it
 * fails to decode and takes the facade's corrupt-entry path (counted, deleted, a miss).
 *
 * The usual header, `<digits>;<digits>;<digits>;<0|1>|`, is read in one pass over its
 * characters (the hit path: measured several times cheaper here than indexOf and substring
 * calls); anything else (tags, a number with a fraction or an exponent) takes the general parser.
 */
export function parseStored(raw: string): StoredEntry {
  if (raw.charCodeAt(0) === 91 /* [ */) return parseJsonEntry(raw);
  let freshUntilMs = 0;
  let graceUntilMs = 0;
  let fetchMs = 0;
  let n = 0;
  let field = 0;
  let fieldDigits = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // 15 digits stay exact in a double; longer numbers take the general parser.
      if (++fieldDigits > 15) break;
      n = n * 10 + (c - 48);
    } else if (c === 59 /* ; */ && field < 3 && fieldDigits > 0) {
      if (field === 0) freshUntilMs = n;
      else if (field === 1) graceUntilMs = n;
      else fetchMs = n;
      field++;
      n = 0;
      fieldDigits = 0;
    } else {
      if (c === 124 /* | */ && field === 3 && fieldDigits === 1 && n <= 1) {
        return { value: raw.slice(i + 1), decoded: undefined, freshUntilMs, graceUntilMs, fetchMs, failSafe: n === 1, tags: NO_REFS };
      }
      break;
    }
  }
  return parseStoredGeneral(raw);
}

/** A JSON entry (see above); anything that is not one is kept whole as a value that will not decode. */
function parseJsonEntry(raw: string): StoredEntry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return plainEntry(raw);
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) return plainEntry(raw);
  // Indexed reads, not destructuring: this runs on every hit, and destructuring goes through the
  // array iterator.
  const fields = parsed as unknown[];
  const freshUntilMs = fields[0];
  const graceUntilMs = fields[1];
  const fetchMs = fields[2];
  const failSafe = fields[3];
  const decoded = fields[4];
  if (typeof freshUntilMs !== 'number' || typeof graceUntilMs !== 'number' || typeof fetchMs !== 'number' || (failSafe !== 0 && failSafe !== 1)) return plainEntry(raw);
  return { value: raw, decoded, freshUntilMs, graceUntilMs, fetchMs, failSafe: failSafe === 1, tags: NO_REFS };
}

/** The number in raw[from, to); NaN when empty or not a number. */
function numberIn(raw: string, from: number, to: number): number {
  return to <= from ? Number.NaN : Number(raw.slice(from, to));
}

/** @internal The general reader; parseStored must agree with it on every input (test/cache/entry.test.ts). */
export function parseStoredGeneral(raw: string): StoredEntry {
  if (raw.startsWith('[')) return parseJsonEntry(raw);
  const bar = raw.indexOf('|');
  const s1 = raw.indexOf(';');
  const s2 = raw.indexOf(';', s1 + 1);
  const s3 = raw.indexOf(';', s2 + 1);
  if (bar < 0 || s1 < 0 || s2 < 0 || s3 < 0 || s3 > bar) return plainEntry(raw);
  const freshUntilMs = numberIn(raw, 0, s1);
  const graceUntilMs = numberIn(raw, s1 + 1, s2);
  const fetchMs = numberIn(raw, s2 + 1, s3);
  if (Number.isNaN(freshUntilMs) || Number.isNaN(graceUntilMs) || Number.isNaN(fetchMs)) return plainEntry(raw);
  return {
    value: raw.slice(bar + 1),
    decoded: undefined,
    freshUntilMs,
    graceUntilMs,
    fetchMs,
    failSafe: raw.charCodeAt(s3 + 1) === 49 /* 1 */,
    tags: s3 + 2 < bar ? parseRefs(raw.slice(s3 + 2, bar)) : NO_REFS,
  };
}

/**
 * The stored text of an entry that records no tag versions, exactly as the WRITE script builds
 * it: a JSON entry when `json` (the value is the default serializer's checked JSON, `c` then
 * JSON text, and the numbers are finite), the general form otherwise.
 */
export function storedText(e: EntryWrite, fetchMs: number, json: boolean): string {
  return json ? `[${e.freshUntilMs},${e.graceUntilMs},${fetchMs},0,${e.value.slice(1)}]` : `${e.freshUntilMs};${e.graceUntilMs};${fetchMs};0|${e.value}`;
}

/**
 * Whether an entry may be stored as a JSON entry (when it records no tag versions): values come
 * from the default serializer (`jsonEntries`), so this one is its checked JSON (`c`), and
 * String() of each number is a JSON number (NaN and Infinity are not).
 */
function isJsonEntry(e: EntryWrite, fetchMs: number, jsonEntries: boolean): boolean {
  return jsonEntries && e.value.charCodeAt(0) === 99 /* c */ && Number.isFinite(e.freshUntilMs) && Number.isFinite(e.graceUntilMs) && Number.isFinite(fetchMs);
}

/** What an untagged entry's key holds (storedText), its fetch time rounded to the ms. */
export function untaggedText(e: EntryWrite, jsonEntries: boolean): string {
  const fetchMs = Math.round(e.fetchMs);
  return storedText(e, fetchMs, isJsonEntry(e, fetchMs, jsonEntries));
}

/** The WRITE script's arguments for one entry (scripts.ts): it builds the stored text itself, tag versions and all. */
export function writeArgs(e: EntryWrite, jsonEntries: boolean): string[] {
  const fetchMs = Math.round(e.fetchMs);
  return [String(e.freshUntilMs), String(e.graceUntilMs), String(fetchMs), String(e.ttlMs), e.tags.join(';'), e.value, isJsonEntry(e, fetchMs, jsonEntries) ? '1' : ''];
}

/** 72 random bits drawn once per process: what makes tokens unique across processes. */
const PROCESS_ID = randomBytes(9).toString('base64url');

/** The process part of a token from randomToken (its first 12 characters): tokens of one process share it. */
export function tokenProcess(token: string): string {
  return token.slice(0, PROCESS_ID.length);
}
let tokenCount = 0;

/**
 * A token unique across processes: lease tokens and tag versions. The process's 72 random bits
 * and a counter, so an old version coming back (which would revive invalidated entries) is not
 * a practical concern; drawing fresh random bytes per token cost about 6 % of a miss's CPU
 * (a synchronous randomFillSync per call).
 */
export function randomToken(): string {
  tokenCount = (tokenCount + 1) % Number.MAX_SAFE_INTEGER;
  return PROCESS_ID + tokenCount.toString(36);
}


/**
 * The lease of a call without tags on a key that holds no entry, stored under the entry's own
 * key (scripts.ts): NUL, which starts no entry, then the holder's token.
 */
export function leaseMarker(token: string): string {
  return `\0${token}`;
}

/** Whether what is stored under an entry's key is a lease marker rather than an entry. */
export function isLeaseMarker(raw: string): boolean {
  return raw.charCodeAt(0) === 0;
}

/**
 * The token of a lease marker. A waiter on another instance appends SOH to the marker (the
 * ACQUIRE script): the holder's write must then announce itself, which the plain `SET … IFEQ`
 * write cannot, so it no longer matches and the write goes through the script (scripts.ts).
 */
export function markerToken(raw: string): string {
  return raw.charCodeAt(raw.length - 1) === 1 ? raw.slice(1, -1) : raw.slice(1);
}
