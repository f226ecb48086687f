import { InvalidKeyError } from '../errors.ts';

/**
 * Redis Cluster's key → slot mapping, computed here so the store can group keys by slot
 * (one command per slot, never CROSSSLOT) and name a lease so it lands in its entry's slot.
 *
 * slot(key) = CRC16-XMODEM(h) mod 16384, where h is the key's hash tag: the bytes between the
 * first `{` and the first `}` after it, when that is not empty; otherwise the whole key.
 * Computed over the key's UTF-8 bytes, as Redis does.
 */

export const SLOT_COUNT = 16384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(bytes: Uint8Array, from: number, to: number): number {
  let crc = 0;
  for (let i = from; i < to; i++) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number);
  return crc;
}

/** The slot Redis Cluster assigns to the key. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b /* { */);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d /* } */, open + 1);
    if (close > open + 1) return crc16(bytes, open + 1, close) % SLOT_COUNT;
  }
  return crc16(bytes, 0, bytes.length) % SLOT_COUNT;
}

/** Whether the key's braces form a hash tag Redis uses (a non-empty `{…}` at the first `{`). */
function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  if (open === -1) return false;
  const close = key.indexOf('}', open + 1);
  return close > open + 1;
}

/**
 * On a cluster, a key either has a hash tag or no brace at all. The cache names the lease of
 * `K` after it (`K\0lease`, with `{K}` appended when K has no hash tag, so both hash the same
 * bytes); a stray `{` or `}` in K would give the lease a hash tag of its own, in another slot.
 */
export function assertClusterKey(fullKey: string): void {
  if ((fullKey.includes('{') || fullKey.includes('}')) && !hasHashTag(fullKey)) {
    throw new InvalidKeyError(`key ${JSON.stringify(fullKey.slice(0, 60))} holds a brace outside a hash tag ('{…}' with something inside); on Redis Cluster its lease could not share its slot`);
  }
}

/** What a lease key appends to its entry's key. A NUL cannot occur in an application key (prefixedKey). */
export const LEASE_MARK = '\u0000lease';

/** The lease of an entry on one Redis (or Sentinel): `<key>\0lease`. */
export function plainLeaseKey(fullKey: string): string {
  return fullKey + LEASE_MARK;
}

/**
 * The lease of an entry on a cluster, in the entry's slot: a key with a hash tag keeps it in
 * `<key>\0lease`; a key without one gets its whole name as the lease's hash tag,
 * `<key>\0lease{<key>}`, which hashes exactly the bytes the entry hashes.
 */
export function clusterLeaseKey(fullKey: string): string {
  return hasHashTag(fullKey) ? fullKey + LEASE_MARK : `${fullKey}${LEASE_MARK}{${fullKey}}`;
}

/** The entry key a lease key belongs to, or undefined when `key` is not a lease. */
export function entryOfLease(key: string): string | undefined {
  const at = key.indexOf(LEASE_MARK);
  return at === -1 ? undefined : key.slice(0, at);
}

/** Groups indexes of `keys` by slot, keeping their order inside each group. */
export function groupBySlot(keys: readonly string[]): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  keys.forEach((k, i) => {
    const slot = keySlot(k);
    const g = groups.get(slot);
    if (g === undefined) groups.set(slot, [i]);
    else g.push(i);
  });
  return groups;
}
