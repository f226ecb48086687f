import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { InvalidOptionsError } from './errors.ts';
import type { NodeRedisClient } from './redis-store.ts';
import type { CacheErrorEvent, CacheLogger } from './reporter.ts';
import type { Serializer } from './serializer.ts';
import { defaultSerializer } from './serializer.ts';

/** Options of `createCache`. Every field is optional; defaults are listed on each. */
export interface CacheOptions {
  /**
   * A `redis://` / `rediss://` URL, or a node-redis v5 client. Absent: the bounded in-memory
   * store (development and tests). A client you pass stays yours: `close()` does not quit it.
   */
  redis?: string | NodeRedisClient;
  /** Prepended to every key, and the only part of the keyspace `invalidatePattern` touches. Default `''`. */
  prefix?: string;
  /** Deadline of every Redis call, in ms. Default 500. */
  commandTimeoutMs?: number;
  /** Deadline of the TCP/TLS connect and handshake when the cache creates the client, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Largest encoded value accepted, in bytes. Default 1 MiB (1,048,576). */
  maxValueBytes?: number;
  /** TTL of a counter created by `incr`/`decr` without one, in seconds. Default 86,400 (1 day). */
  defaultCounterTtlSeconds?: number;
  /** Keys per SCAN step and per UNLINK batch in `invalidatePattern`. Default 500. */
  scanBatchSize?: number;
  /** Consecutive Redis time-outs that open the circuit breaker. Default 3. */
  breakerThreshold?: number;
  /** How long an open circuit answers at once before probing Redis again, in ms. Default 1000. */
  breakerCooldownMs?: number;
  /** In-memory store bounds: entries (default 10,000) and bytes (default 64 MiB). */
  memory?: { maxEntries?: number; maxBytes?: number };
  /** Where failures are logged, rate-limited (pino-compatible). Default: not logged. */
  logger?: CacheLogger;
  /** Called for every failure, unthrottled. Default: none. */
  onError?: (event: CacheErrorEvent) => void;
  /** At most one log line per error code per this many ms. Default 10,000. */
  logIntervalMs?: number;
  /** Time source for everything the library times itself. Default: `Date.now`. */
  clock?: Clock;
  /** Value encoding. Default: JSON with Date/BigInt/Map/Set tags (see serializer.ts). */
  serializer?: Serializer;
}

export interface ResolvedCacheOptions {
  redis: string | NodeRedisClient | undefined;
  prefix: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  maxValueBytes: number;
  defaultCounterTtlSeconds: number;
  scanBatchSize: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
  memory: { maxEntries: number; maxBytes: number };
  logger: CacheLogger | undefined;
  onError: ((event: CacheErrorEvent) => void) | undefined;
  logIntervalMs: number;
  clock: Clock;
  serializer: Serializer;
}

function positive(name: string, value: number | undefined, fallback: number, integer = true): number {
  // `??`, never `||`: an explicit 0 must reach the check below and be refused, not replaced.
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new InvalidOptionsError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  }
  return v;
}

/** Applies defaults and validates, once, at construction. */
export function resolveOptions(options: CacheOptions = {}): ResolvedCacheOptions {
  if (options.redis !== undefined && typeof options.redis !== 'string' && typeof options.redis !== 'object') {
    throw new InvalidOptionsError('redis must be a URL or a node-redis client');
  }
  if (typeof options.redis === 'string' && !/^rediss?:\/\//.test(options.redis)) {
    throw new InvalidOptionsError('redis URL must start with redis:// or rediss://');
  }
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string') throw new InvalidOptionsError('prefix must be a string');
  return {
    redis: options.redis,
    prefix,
    commandTimeoutMs: positive('commandTimeoutMs', options.commandTimeoutMs, 500),
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs, 5000),
    maxValueBytes: positive('maxValueBytes', options.maxValueBytes, 1024 * 1024),
    defaultCounterTtlSeconds: positive('defaultCounterTtlSeconds', options.defaultCounterTtlSeconds, 86_400, false),
    scanBatchSize: positive('scanBatchSize', options.scanBatchSize, 500),
    breakerThreshold: positive('breakerThreshold', options.breakerThreshold, 3),
    breakerCooldownMs: positive('breakerCooldownMs', options.breakerCooldownMs, 1000),
    memory: {
      maxEntries: positive('memory.maxEntries', options.memory?.maxEntries, 10_000),
      maxBytes: positive('memory.maxBytes', options.memory?.maxBytes, 64 * 1024 * 1024),
    },
    logger: options.logger,
    onError: options.onError,
    logIntervalMs: positive('logIntervalMs', options.logIntervalMs, 10_000),
    clock: options.clock ?? systemClock,
    serializer: options.serializer ?? defaultSerializer,
  };
}
