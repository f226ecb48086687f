import { InvalidKeyError } from './errors.ts';

/**
 * Key builders. Format `{entity}:{id}:{sub}`.
 *
 * Ids come from user input, so an id that could change what a key or a pattern matches is
 * rejected: the glob metacharacters `* ? [ ] \` (a user id of `1*` must not widen
 * `user:1*:profile` to every user) and `:` (which would let an id forge another segment).
 * Whitespace and control characters are rejected too: Redis accepts them, but they are never a
 * real id and they make keys unreadable in tools. Rejecting beats escaping: an escaped key
 * would be a different key from the one other services build for the same id.
 */

/** Longest id accepted, in characters: a key is a memory cost paid per entry. */
export const MAX_ID_LENGTH = 256;

/** The characters an id may not hold (glob metacharacters, `:`, whitespace, controls), as a class body. */
const FORBIDDEN_CLASS = String.raw`*?[\]\\:\s\u0000-\u001f\u007f`;
const FORBIDDEN = new RegExp(`[${FORBIDDEN_CLASS}]`);
/** The same characters and `%`, which encodeSegment escapes. */
const ENCODED = new RegExp(`[%${FORBIDDEN_CLASS}]`, 'g');

export type KeyId = string | number | bigint;

/** Returns the id as a key segment, or throws InvalidKeyError. */
export function keySegment(id: KeyId, what = 'id'): string {
  let s: string;
  if (typeof id === 'number') {
    if (!Number.isSafeInteger(id)) throw new InvalidKeyError(`${what} must be an integer or a string, got ${id}`);
    s = String(id);
  } else if (typeof id === 'bigint') {
    s = id.toString();
  } else if (typeof id === 'string') {
    s = id;
  } else {
    throw new InvalidKeyError(`${what} must be a string or a number`);
  }
  if (s.length === 0) throw new InvalidKeyError(`${what} must not be empty`);
  if (s.length > MAX_ID_LENGTH) throw new InvalidKeyError(`${what} is longer than ${MAX_ID_LENGTH} characters`);
  if (FORBIDDEN.test(s)) {
    throw new InvalidKeyError(`${what} ${JSON.stringify(s)} contains a glob metacharacter, ':' or whitespace`);
  }
  return s;
}

/**
 * Percent-encodes every character keySegment would reject, and `%` itself, so any string maps
 * to a distinct safe segment.
 */
export function encodeSegment(id: KeyId): string {
  const s = typeof id === 'string' ? id : String(id);
  if (s.length === 0) throw new InvalidKeyError('subject must not be empty');
  const out = s.replace(ENCODED, (c) => `%${c.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`);
  if (out.length > MAX_ID_LENGTH * 3) throw new InvalidKeyError('subject is too long');
  return out;
}

function page(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidKeyError(`page must be a non-negative integer, got ${n}`);
  return String(n);
}

export const CacheKeys = {
  user: (userId: KeyId) => `user:${keySegment(userId, 'userId')}`,
  userProfile: (userId: KeyId) => `user:${keySegment(userId, 'userId')}:profile`,
  guild: (guildId: KeyId) => `guild:${keySegment(guildId, 'guildId')}`,
  guildMembers: (guildId: KeyId) => `guild:${keySegment(guildId, 'guildId')}:members`,
  job: (jobId: KeyId) => `job:${keySegment(jobId, 'jobId')}`,
  /** Pages of job listings, by status. Invalidate all with `jobs:*`. */
  jobList: (status: string, pageNo: number) => `jobs:${keySegment(status, 'status')}:${page(pageNo)}`,
  wallet: (userId: KeyId) => `wallet:${keySegment(userId, 'userId')}`,
  walletBalance: (userId: KeyId) => `wallet:${keySegment(userId, 'userId')}:balance`,
  leaderboard: (type: string) => `leaderboard:${keySegment(type, 'type')}`,
  chat: (chatId: KeyId) => `chat:${keySegment(chatId, 'chatId')}`,
  chatMessages: (chatId: KeyId, pageNo: number) => `chat:${keySegment(chatId, 'chatId')}:messages:${page(pageNo)}`,
  /** Pattern matching every page of one chat, safe to pass to invalidatePattern. */
  chatMessagesPattern: (chatId: KeyId) => `chat:${keySegment(chatId, 'chatId')}:messages:*`,
  notifications: (userId: KeyId) => `notifications:${keySegment(userId, 'userId')}`,
  session: (sessionId: string) => `session:${keySegment(sessionId, 'sessionId')}`,
  /**
   * Rate-limit counter for one subject in one bucket. Subjects are IPv6 addresses and emails,
   * which legally hold `:` and `*`, so the subject is percent-encoded (injective) rather than
   * rejected.
   */
  rateLimit: (subject: KeyId, bucket = 'default') => `ratelimit:${keySegment(bucket, 'bucket')}:${encodeSegment(subject)}`,
} as const;

/** Escapes glob metacharacters so a literal string (a prefix) matches only itself in SCAN MATCH. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** The first segment of a key (`user` for `user:1:profile`): the namespace stats are kept by. */
export function namespaceOf(key: string): string {
  const i = key.indexOf(':');
  return i === -1 ? key : key.slice(0, i);
}

/**
 * Validates a key passed to the facade (not built by CacheKeys) and returns it under the prefix.
 * The cache's own keys live beside the application's under the same prefix, and no application
 * key may be one of them: a leading `#` is reserved (tag versions, `<prefix>#tag:<name>`), and so
 * is NUL (a lease is `<key>\0lease`).
 *
 * The reserved characters are looked for in the prefixed key: the client flattens that string to
 * write it anyway, while scanning the caller's key (often a rope from a template literal) would
 * flatten it a second time, on every hit.
 */
export function prefixedKey(prefix: string, key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError('key must be a non-empty string');
  if (key.length > 4096) throw new InvalidKeyError('key is longer than 4096 characters');
  const full = prefix + key;
  if (full.charCodeAt(prefix.length) === 35 /* # */) throw new InvalidKeyError(`key ${JSON.stringify(key.slice(0, 40))} starts with '#', which is reserved for the cache's own keys`);
  if (full.includes('\u0000', prefix.length)) throw new InvalidKeyError("key holds a NUL character, which is reserved for the cache's own keys");
  return full;
}
