import { isLeaseMarker, markerToken, parseRefs, parseStored, tokenProcess, type TagRef } from './entry.ts';
import { isErrorReply } from './guard.ts';
import type { Serializer } from './serializer.ts';
import type { RedisConnection } from './topology/connection.ts';
import { entryOfLease } from './topology/slots.ts';
import { TRACKING_CLIENT_NAME } from './tiers/tracking.ts';

/**
 * Operator reads: what one key holds, decoded (`Cache.inspect`), the keys under the prefix
 * (`Cache.scanKeys`), and each master's INFO (`Cache.redisServers`). They exist so that tools
 * (the CLI) read the cache's keys through the code that writes them, instead of copying its
 * formats: the entry header, the lease string, where tag versions live, the lease's key on each
 * topology. None of this is on a request's path; none of it writes.
 */

/** How the string under a key is laid out (entry.ts). */
export type EntryForm =
  /** Nothing under the key. */
  | 'absent'
  /** `[fresh,grace,fetch,failSafe,<value JSON>]`: an untagged value of the default serializer. */
  | 'json'
  /** `fresh;grace;fetch;failSafe[;tag=version…]|<encoded value>`. */
  | 'general'
  /** A string the cache did not write as an entry: a counter (`incr`), or another program's value. */
  | 'plain'
  /** Not a string at all (a hash, a list…): not the cache's. */
  | 'not-string';

/** What a read would make of the entry now. */
export type EntryState =
  | 'absent'
  /** Served as a hit. */
  | 'fresh'
  /** Past its TTL, within grace: only getOrSet serves it, flagged stale, while it refreshes. */
  | 'stale'
  /** A refresh failed and the value is served stale until the retry time (fail-safe). */
  | 'fail-safe'
  /** Past grace: a miss (Redis drops the key soon). */
  | 'expired'
  /** A tag it was written under has moved: a miss, whatever its times say. */
  | 'invalidated'
  /** A plain string that decodes (a counter): a value that never goes stale. */
  | 'plain'
  /** Does not decode with this cache's serializer: a read counts it as corrupt and deletes it. */
  | 'undecodable'
  /** The key holds another Redis type: reads of it fail. */
  | 'wrong-type';

export interface TagInspection {
  name: string;
  /** The version recorded when the entry (or lease) was written. */
  recorded: string;
  /** The tag's version now (`<prefix>#tag:<name>`); null when it has none (evicted, expired, deleted). */
  current: string | null;
  /** recorded === current: the entry is still valid as far as this tag goes. */
  valid: boolean;
}

export interface LeaseInspection {
  /** The holder's token. */
  token: string;
  /** The process part of the token: leases taken by one process share it. */
  holder: string;
  /** When the lease lapses, in the writer's clock ms; null when unreadable. */
  expiresAtMs: number | null;
  /** Redis PTTL of the lease key, in ms (-1: no expiry). */
  ttlMs: number;
  /** The tag versions the lease was taken under: its write is refused if one has moved. */
  tags: TagInspection[];
}

export interface EntryInspection {
  /** The key as given, without the prefix. */
  key: string;
  /** The key in Redis. */
  fullKey: string;
  form: EntryForm;
  state: EntryState;
  /** The value, decoded with the cache's serializer; undefined when absent or undecodable. */
  value: unknown;
  /** Why the value did not decode. */
  decodeError: string | undefined;
  /** Size of the stored string in bytes (UTF-8); 0 when absent. */
  storedBytes: number;
  /** From the entry's header, in the writer's clock ms; null when the key holds no entry. */
  freshUntilMs: number | null;
  graceUntilMs: number | null;
  /** How long the fetch that produced it took, in ms (0: written by set/setMany). */
  fetchMs: number | null;
  failSafe: boolean;
  tags: TagInspection[];
  /** Redis PTTL of the key, in ms: null when absent, -1 without expiry. Entries expire at grace's end. */
  ttlMs: number | null;
  /** The lease on the key, when someone holds one (a fetch in flight). */
  lease: LeaseInspection | null;
  /** The clock time the states were judged at. */
  nowMs: number;
}

/** @internal What the store reads for inspect: raw strings and expiries, and the tag versions they name. */
export interface RawInspection {
  /** The string under the key; null when absent or not a string. */
  raw: string | null;
  wrongType: boolean;
  /** PTTL of the key (-2 absent, -1 no expiry). */
  pttlMs: number;
  lease: { token: string; expiresAtMs: number | null; refs: readonly TagRef[] } | null;
  leasePttlMs: number;
  /** The current version of every tag the entry or the lease names (null: none). */
  versions: ReadonlyMap<string, string | null>;
}

/** @internal One SCAN step's keys on one master, unfiltered. */
export interface ScanBatch {
  node: string;
  keys: string[];
}

/** One step of `Cache.scanKeys`. */
export interface KeyScanBatch {
  /** The master it came from (`host:port`). */
  node: string;
  /** Application keys matching the pattern, without the prefix. */
  keys: string[];
  /** Leases on matching keys seen in this step (a fetch in flight each). */
  leases: number;
  /** Tag version keys (`<prefix>#tag:…`) seen in this step. */
  tagVersions: number;
}

/** One master's view of itself. */
export interface RedisServerInfo {
  address: string;
  /** Every `INFO` field (`used_memory`, `keyspace_hits`, `connected_clients`, `db0`…), as text. */
  info: Record<string, string>;
  /** Connections named as the in-process tier's invalidation channel: caches with `l1` listening to this node. */
  trackingClients: number;
}

const isWrongType = (err: unknown): boolean => isErrorReply(err) && err.message.startsWith('WRONGTYPE');

async function readString(c: RedisConnection, key: string): Promise<{ raw: string | null; wrongType: boolean }> {
  try {
    return { raw: await c.get(key), wrongType: false };
  } catch (err) {
    if (isWrongType(err)) return { raw: null, wrongType: true };
    throw err;
  }
}

/** The lease string `token|expiry|refs` (scripts.ts), or an earlier version's hash lease. */
async function readLease(c: RedisConnection, leaseKey: string): Promise<RawInspection['lease']> {
  const s = await readString(c, leaseKey);
  let token: string | null;
  let expiry: string | null;
  let refs: string | null;
  if (s.wrongType) {
    [token, expiry, refs] = await Promise.all([c.hget(leaseKey, 'l'), c.hget(leaseKey, 'lx'), c.hget(leaseKey, 'lt')]);
  } else {
    if (s.raw === null) return null;
    const m = /^([^|]*)\|([^|]*)\|(.*)$/s.exec(s.raw);
    [token, expiry, refs] = m === null ? [s.raw, null, null] : [m[1] ?? '', m[2] ?? null, m[3] ?? null];
  }
  if (token === null) return null;
  const x = Number(expiry);
  return { token, expiresAtMs: expiry === null || expiry === '' || !Number.isFinite(x) ? null : x, refs: parseRefs(refs ?? '') };
}

/** @internal The store's side of inspect: every read it needs, the lease in the entry's slot. */
export async function readRaw(c: RedisConnection, fullKey: string, tagPrefix: string): Promise<RawInspection> {
  const leaseKey = c.leaseKey(fullKey);
  const [entry, pttlMs, lease, leasePttlMs] = await Promise.all([readString(c, fullKey), c.pttl(fullKey), readLease(c, leaseKey), c.pttl(leaseKey)]);
  // A miss's lease under the entry's own key (scripts.ts): no entry, and that lease, whose expiry is the key's.
  if (entry.raw !== null && isLeaseMarker(entry.raw)) {
    return { raw: null, wrongType: false, pttlMs: -2, lease: { token: markerToken(entry.raw), expiresAtMs: null, refs: [] }, leasePttlMs: pttlMs, versions: new Map() };
  }
  const names = new Set<string>();
  if (entry.raw !== null) for (const [name] of parseStored(entry.raw).tags) names.add(name);
  for (const [name] of lease?.refs ?? []) names.add(name);
  const list = Array.from(names);
  // MGET groups by slot on a cluster, where tag versions live in slots of their own.
  const current = list.length === 0 ? [] : await c.mget(list.map((n) => tagPrefix + n));
  return { raw: entry.raw, wrongType: entry.wrongType, pttlMs, lease, leasePttlMs, versions: new Map(list.map((n, i) => [n, current[i] ?? null])) };
}

function tagsOf(refs: readonly TagRef[], versions: ReadonlyMap<string, string | null>): TagInspection[] {
  return refs.map(([name, recorded]) => {
    const current = versions.get(name) ?? null;
    return { name, recorded, current, valid: current === recorded };
  });
}

/**
 * The decoded view of what readRaw found. Decoding never deletes here (a read would delete an
 * undecodable entry): an operator looks, and the answer says what a read would do.
 */
export function describeInspection(key: string, fullKey: string, r: RawInspection, serializer: Serializer, defaultSerializer: boolean, nowMs: number): EntryInspection {
  const lease: LeaseInspection | null =
    r.lease === null ? null : { token: r.lease.token, holder: tokenProcess(r.lease.token), expiresAtMs: r.lease.expiresAtMs, ttlMs: r.leasePttlMs, tags: tagsOf(r.lease.refs, r.versions) };
  const ttlMs = r.pttlMs === -2 ? null : r.pttlMs;
  if (r.raw === null) {
    const form = r.wrongType ? 'not-string' : 'absent';
    return { key, fullKey, form, state: r.wrongType ? 'wrong-type' : 'absent', value: undefined, decodeError: undefined, storedBytes: 0, freshUntilMs: null, graceUntilMs: null, fetchMs: null, failSafe: false, tags: [], ttlMs, lease, nowMs };
  }

  const entry = parseStored(r.raw);
  // parseStored reads anything that is not an entry as a value that never goes stale.
  const plain = entry.freshUntilMs === Infinity;
  const form: EntryForm = plain ? 'plain' : r.raw.startsWith('[') ? 'json' : 'general';
  let value: unknown;
  let decodeError: string | undefined;
  try {
    if (form !== 'json') value = serializer.decode(entry.value);
    else if (defaultSerializer) value = entry.decoded;
    else decodeError = 'a JSON entry (default serializer) read by a cache with a custom serializer';
  } catch (err) {
    decodeError = err instanceof Error ? err.message : String(err);
  }
  const tags = tagsOf(entry.tags, r.versions);
  let state: EntryState;
  if (decodeError !== undefined) state = 'undecodable';
  else if (plain) state = 'plain';
  else if (tags.some((t) => !t.valid)) state = 'invalidated';
  else if (nowMs >= entry.graceUntilMs) state = 'expired';
  else if (nowMs >= entry.freshUntilMs) state = 'stale';
  else state = entry.failSafe ? 'fail-safe' : 'fresh';
  return {
    key,
    fullKey,
    form,
    state,
    value: decodeError === undefined ? value : undefined,
    decodeError,
    storedBytes: Buffer.byteLength(r.raw, 'utf8'),
    freshUntilMs: plain ? null : entry.freshUntilMs,
    graceUntilMs: plain ? null : entry.graceUntilMs,
    fetchMs: plain ? null : entry.fetchMs,
    failSafe: entry.failSafe,
    tags,
    ttlMs,
    lease,
    nowMs,
  };
}

/**
 * @internal Sorts one SCAN step of `<prefix><pattern>*` into application keys that match the
 * pattern exactly (prefix stripped), leases on such keys, and tag versions; the rest (keys the
 * trailing `*` let through) is dropped, as invalidatePattern drops it.
 */
export function classifyScan(b: ScanBatch, prefix: string, exact: RegExp): KeyScanBatch {
  const keys: string[] = [];
  let leases = 0;
  let tagVersions = 0;
  for (const k of b.keys) {
    const entry = entryOfLease(k);
    if (entry !== undefined) {
      if (exact.test(entry)) leases++;
    } else if (k.charCodeAt(prefix.length) === 35 /* # */ && k.startsWith(prefix)) {
      tagVersions++;
    } else if (exact.test(k)) {
      keys.push(k.slice(prefix.length));
    }
  }
  return { node: b.node, keys, leases, tagVersions };
}

/** `INFO`'s `field:value` lines as a record (section headers and blank lines skipped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) out[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return out;
}

/** The `name=` of each connection in `CLIENT LIST` (empty for unnamed ones). */
export function clientNames(clientList: string): string[] {
  return clientList
    .split(/\r?\n/)
    .filter((l) => l !== '')
    .map((l) => / name=(\S*)/.exec(l)?.[1] ?? '');
}

/** A master's `INFO` text and the names of its connections, as the store reads them. */
export interface MasterInfo {
  address: string;
  info: string;
  clientNames: string[];
}

/** `INFO` and `CLIENT LIST` of every master, all at once. */
export function mastersInfo(c: RedisConnection): Promise<MasterInfo[]> {
  return Promise.all(
    c.masters().map(async (m) => {
      // A RESP3 client may answer with a verbatim-string object: its text is what counts.
      const [info, list] = await Promise.all([m.command<unknown>(['INFO']), m.command<unknown>(['CLIENT', 'LIST'])]);
      return { address: m.address, info: String(info), clientNames: clientNames(String(list)) };
    }),
  );
}

/** DBSIZE, summed over the masters. */
export async function keyCount(c: RedisConnection): Promise<number> {
  return (await Promise.all(c.masters().map((m) => m.dbSize()))).reduce((a, b) => a + b, 0);
}

/** @internal Turns the store's INFO and CLIENT LIST into RedisServerInfo. */
export function serverInfoOf(s: MasterInfo): RedisServerInfo {
  return { address: s.address, info: parseInfo(s.info), trackingClients: s.clientNames.filter((n) => n === TRACKING_CLIENT_NAME).length };
}
