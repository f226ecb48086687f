import { InvalidTtlError } from './errors.ts';

/** TTL presets, in seconds. */
export const CacheTTL = {
  /** 30 s: data that changes by the second (balances, chat pages, notifications). */
  SHORT: 30,
  /** 5 min: frequently updated (profiles, job listings, leaderboards). */
  MEDIUM: 300,
  /** 1 h: stable data (guilds, members). */
  LONG: 3600,
  /** 24 h: rarely updated (sessions). */
  VERY_LONG: 86400,
  /** 30 days: static data. */
  PERMANENT: 2592000,
} as const;

export type CacheTTLName = keyof typeof CacheTTL;

/** Throws InvalidTtlError unless ttlSeconds is a positive finite number. */
export function assertTtlSeconds(ttlSeconds: unknown): asserts ttlSeconds is number {
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new InvalidTtlError(ttlSeconds);
  }
}

/** Milliseconds for Redis `PX`, never below 1. */
export function ttlToMs(ttlSeconds: number): number {
  return Math.max(1, Math.round(ttlSeconds * 1000));
}
