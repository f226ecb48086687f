import { ErrorReply } from 'redis';
import { CacheError, CommandTimeoutError, RedisCommandError, RedisUnavailableError } from './errors.ts';

export interface GuardOptions {
  /** Deadline for every Redis call. */
  commandTimeoutMs: number;
  /** Consecutive time-outs that open the circuit. */
  breakerThreshold: number;
  /** How long an open circuit fails calls at once before letting one probe through. */
  breakerCooldownMs: number;
  now: () => number;
}

/**
 * Deadline and circuit breaker around every Redis call.
 *
 * node-redis drops its own command timeout once a command is written to the socket, so a frozen
 * server (TCP open, nothing answering) would leave callers waiting forever. Every call therefore
 * races a timer. Each timed-out call still sits in node-redis's reply queue until the socket
 * closes, so after `breakerThreshold` consecutive time-outs the circuit opens and calls fail at
 * once (no new queue entries, no waiting) until a probe succeeds.
 */
export class Guard {
  readonly #opts: GuardOptions;
  #consecutiveTimeouts = 0;
  #openUntilMs = 0;
  /** Half-open: one call is probing the server; the others still fail at once. */
  #probing = false;

  constructor(opts: GuardOptions) {
    this.#opts = opts;
  }

  get circuitOpen(): boolean {
    return this.#openUntilMs !== 0;
  }

  /**
   * Rejects at once while the circuit is open. Once the cooldown has passed, exactly one call
   * goes through as a probe (returns true); the rest keep failing fast until it answers, so a
   * still-frozen server costs one more deadline per cooldown, not one per concurrent request.
   */
  check(operation: string): boolean {
    if (this.#openUntilMs === 0) return false;
    if (this.#probing || this.#openUntilMs > this.#opts.now()) {
      throw new RedisUnavailableError(`Redis ${operation} skipped: circuit open after ${this.#consecutiveTimeouts} time-outs`);
    }
    this.#probing = true;
    return true;
  }

  #probeDone(answered: boolean): void {
    this.#probing = false;
    if (answered) {
      this.#consecutiveTimeouts = 0;
      this.#openUntilMs = 0;
    } else {
      this.#openUntilMs = this.#opts.now() + this.#opts.breakerCooldownMs;
    }
  }

  run<T>(operation: string, call: () => Promise<T>): Promise<T>;
  /**
   * With `map`, the reply is transformed (and with `recover`, an error reply replaced) inside
   * the deadline's own handlers: the hit path pays no extra promise for parsing.
   */
  run<T, R>(operation: string, call: () => Promise<T>, map: (value: T) => R | Promise<R>, recover?: (err: unknown) => Promise<R>): Promise<R>;
  run<T, R>(operation: string, call: () => Promise<T>, map?: (value: T) => R | Promise<R>, recover?: (err: unknown) => Promise<R>): Promise<T | R> {
    let probe: boolean;
    try {
      probe = this.check(operation);
    } catch (err) {
      return Promise.reject(classify(operation, err));
    }
    const timeoutMs = this.#opts.commandTimeoutMs;
    return new Promise<T | R>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.#onTimeout();
        if (probe) this.#probeDone(false);
        reject(new CommandTimeoutError(operation, timeoutMs));
      }, timeoutMs);
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (err) {
        pending = Promise.reject(classify(operation, err));
      }
      pending.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.#consecutiveTimeouts = 0;
          // Any answer shows the server is alive, even a late one from before the circuit opened.
          if (probe) this.#probeDone(true);
          else if (!this.#probing) this.#openUntilMs = 0;
          if (map === undefined) {
            resolve(value);
            return;
          }
          try {
            resolve(map(value));
          } catch (err) {
            reject(classify(operation, err));
          }
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          // An error reply is an answer: the server is alive. A dropped connection is not.
          if (probe) this.#probeDone(err instanceof ErrorReply);
          if (recover === undefined) {
            reject(classify(operation, err));
            return;
          }
          recover(err).then(resolve, (e: unknown) => reject(classify(operation, e)));
        },
      );
    });
  }

  #onTimeout(): void {
    this.#consecutiveTimeouts++;
    if (this.#consecutiveTimeouts >= this.#opts.breakerThreshold) {
      this.#openUntilMs = this.#opts.now() + this.#opts.breakerCooldownMs;
    }
  }
}

/** Maps whatever node-redis threw to one of the library's typed errors, keeping the cause. */
export function classify(operation: string, err: unknown): CacheError {
  if (err instanceof CacheError) return err;
  if (err instanceof ErrorReply) return new RedisCommandError(`Redis ${operation} failed: ${err.message}`, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new RedisUnavailableError(`Redis ${operation} failed: ${message}`, { cause: err });
}
