/**
 * Every failure the library reports is one of these classes. `code` is stable across
 * versions (callers and dashboards match on it); `cause` keeps the underlying error.
 * Each code is documented in the README's "Errors" table, and a test keeps the two in step.
 */

export type CacheErrorCode =
  | 'E_REDIS_UNAVAILABLE'
  | 'E_COMMAND_TIMEOUT'
  | 'E_REDIS_COMMAND'
  | 'E_UNDEFINED_VALUE'
  | 'E_VALUE_TOO_LARGE'
  | 'E_SERIALIZE'
  | 'E_DECODE'
  | 'E_INVALID_KEY'
  | 'E_INVALID_TTL'
  | 'E_INVALID_OPTIONS'
  | 'E_CACHE_CLOSED'
  | 'E_FACTORY_TIMEOUT'
  | 'E_INVALID_TAG'
  | 'E_FETCH_FAILED'
  | 'E_REDIS_NODE'
  | 'E_REPLICATION_TIMEOUT';

export class CacheError extends Error {
  readonly code: CacheErrorCode;

  constructor(code: CacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Redis refused, dropped the connection, is reconnecting, or the circuit breaker is open. */
export class RedisUnavailableError extends CacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_REDIS_UNAVAILABLE', message, options);
  }
}

/** A Redis command got no answer within `commandTimeoutMs` (a frozen or overloaded server). */
export class CommandTimeoutError extends CacheError {
  readonly timeoutMs: number;
  constructor(operation: string, timeoutMs: number) {
    super('E_COMMAND_TIMEOUT', `Redis ${operation} got no answer within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** Redis answered with an error reply (WRONGTYPE, OOM, NOSCRIPT after reload …). */
export class RedisCommandError extends CacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_REDIS_COMMAND', message, options);
  }
}

/** `undefined` has no cached representation; cache `null` for "known to be absent". */
export class UndefinedValueError extends CacheError {
  constructor(key: string) {
    super('E_UNDEFINED_VALUE', `Cannot cache undefined for key "${key}"; use null to cache absence`);
  }
}

export class ValueTooLargeError extends CacheError {
  readonly bytes: number;
  readonly maxValueBytes: number;
  constructor(key: string, bytes: number, maxValueBytes: number) {
    super('E_VALUE_TOO_LARGE', `Value for key "${key}" is ${bytes} bytes; maxValueBytes is ${maxValueBytes}`);
    this.bytes = bytes;
    this.maxValueBytes = maxValueBytes;
  }
}

/** The value cannot be encoded (a circular structure, for instance). */
export class SerializeError extends CacheError {
  constructor(key: string, options?: { cause?: unknown }) {
    super('E_SERIALIZE', `Value for key "${key}" cannot be serialized`, options);
  }
}

/** A stored value could not be decoded: corrupt, or written by an incompatible version. */
export class DecodeError extends CacheError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_DECODE', message, options);
  }
}

export class InvalidKeyError extends CacheError {
  constructor(message: string) {
    super('E_INVALID_KEY', message);
  }
}

export class InvalidTtlError extends CacheError {
  constructor(ttl: unknown) {
    super('E_INVALID_TTL', `TTL must be a positive finite number of seconds, got ${String(ttl)}`);
  }
}

export class InvalidOptionsError extends CacheError {
  constructor(message: string) {
    super('E_INVALID_OPTIONS', message);
  }
}

export class CacheClosedError extends CacheError {
  constructor() {
    super('E_CACHE_CLOSED', 'The cache has been closed');
  }
}

/** A `getOrSet` fetcher ran past `hardTimeoutMs`. */
export class FactoryTimeoutError extends CacheError {
  readonly timeoutMs: number;
  constructor(key: string, timeoutMs: number) {
    super('E_FACTORY_TIMEOUT', `Fetcher for key "${key}" did not settle within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A tag passed to `getOrSet`/`set`/`invalidateTags` is empty, too long, or holds `; = |` or whitespace. */
export class InvalidTagError extends CacheError {
  constructor(message: string) {
    super('E_INVALID_TAG', message);
  }
}

/**
 * A `getOrSet` fetcher failed where no caller was there to receive the error: a stale value was
 * served instead (fail-safe), or it was a background refresh. Reported through `onError` and the
 * logger, with the fetcher's error as `cause`; never thrown.
 */
export class FetchFailedError extends CacheError {
  constructor(key: string, options?: { cause?: unknown }) {
    super('E_FETCH_FAILED', `Fetcher for key "${key}" failed; the cached value was served instead`, options);
  }
}

/**
 * One node of a multi-node operation failed (a master that stopped answering in the middle of
 * `invalidatePattern`'s scan, say): `address` names it, `cause` is the node's error. The rest of
 * the operation went through; retry the whole call (what was already deleted stays deleted).
 */
export class RedisNodeError extends CacheError {
  readonly address: string;
  constructor(address: string, operation: string, options: { cause: unknown }) {
    const why = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super('E_REDIS_NODE', `Redis ${operation} failed on ${address}: ${why}`, options);
    this.address = address;
  }
}

/**
 * An invalidation reached the master but fewer than `invalidationReplicas` replicas acknowledged
 * it within `invalidationReplicaTimeoutMs`: a failover now could bring the old value back. The
 * caller should keep the invalidation and retry it (the backend's outbox does).
 */
export class ReplicationTimeoutError extends CacheError {
  readonly acknowledged: number;
  readonly wanted: number;
  constructor(operation: string, acknowledged: number, wanted: number, timeoutMs: number) {
    super('E_REPLICATION_TIMEOUT', `Redis ${operation}: ${acknowledged} of ${wanted} replicas acknowledged within ${timeoutMs} ms`);
    this.acknowledged = acknowledged;
    this.wanted = wanted;
  }
}
