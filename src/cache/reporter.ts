import { CacheError } from './errors.ts';

/** The subset of a pino / console-style logger the cache writes to. */
export interface CacheLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What the onError hook receives for every failure, unthrottled. */
export interface CacheErrorEvent {
  operation: string;
  key: string | undefined;
  error: CacheError;
}

/**
 * Calls the onError hook for every failure, and logs at most one line per error code per
 * `logIntervalMs`, carrying how many were suppressed since: a Redis outage under load produces
 * a handful of lines, not one per request.
 */
export class ErrorReporter {
  readonly #logger: CacheLogger | undefined;
  readonly #onError: ((event: CacheErrorEvent) => void) | undefined;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #lastByCode = new Map<string, { atMs: number; suppressed: number }>();

  constructor(opts: { logger?: CacheLogger; onError?: (event: CacheErrorEvent) => void; logIntervalMs: number; now: () => number }) {
    this.#logger = opts.logger;
    this.#onError = opts.onError;
    this.#intervalMs = opts.logIntervalMs;
    this.#now = opts.now;
  }

  report(operation: string, key: string | undefined, err: unknown): CacheError {
    const error = err instanceof CacheError ? err : new CacheError('E_REDIS_UNAVAILABLE', String(err), { cause: err });
    if (this.#onError !== undefined) {
      try {
        this.#onError({ operation, key, error });
      } catch {
        // A faulty hook must not turn a cache fallback into a request failure.
      }
    }
    if (this.#logger !== undefined) {
      const now = this.#now();
      const last = this.#lastByCode.get(error.code);
      if (last === undefined || now - last.atMs >= this.#intervalMs) {
        const suppressed = last?.suppressed ?? 0;
        this.#lastByCode.set(error.code, { atMs: now, suppressed: 0 });
        this.#logger.warn({ code: error.code, operation, key, suppressed, err: { message: error.message, code: error.code } }, `cache ${operation} failed: ${error.message}`);
      } else {
        last.suppressed++;
      }
    }
    return error;
  }
}
