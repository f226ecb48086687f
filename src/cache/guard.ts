import { ErrorReply } from 'redis';
import { batchMonotonicMs } from './clock.ts';
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

  /** Runs one call under the deadline; rejects with a typed error. */
  run<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return this.runWith(operation, call, undefined);
  }

  /** run for `call(arg)`: a caller with the argument at hand makes no closure per call for it. */
  runWith<T, A>(operation: string, call: (arg: A) => Promise<T>, arg: A): Promise<T> {
    let probe: boolean;
    try {
      probe = this.check(operation);
    } catch (err) {
      return Promise.reject(classify(operation, err));
    }
    let reply: Promise<T>;
    try {
      reply = call(arg);
    } catch (err) {
      reply = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.watch(operation, probe, reply, undefined, passThrough, rethrow);
  }

  /**
   * Puts a call already sent (after `check`, whose answer is `probe`) under the deadline.
   * Whichever comes first of the reply, an error and the deadline runs `onReply(value, ctx)` or
   * `onFailure(typedError, ctx)`, and what that returns settles the promise (what it throws
   * rejects it). The handlers are made once by the caller and the per-call state travels in
   * `ctx`, so the getOrSet hit path allocates no closures of its own.
   */
  watch<T, C, R>(operation: string, probe: boolean, reply: Promise<T>, ctx: C, onReply: OnReply<T, C, R>, onFailure: OnFailure<C, R>): Promise<R> {
    const promise = new Promise<R>(captureResolvers);
    const deadlineMs = batchMonotonicMs() + this.#opts.commandTimeoutMs;
    const pending = new PendingCall<T, C, R>(this, operation, deadlineMs, probe, this.#answers, ctx, onReply, onFailure, capturedResolve as (value: R | Promise<R>) => void, capturedReject);
    this.#enqueue(pending);
    reply.then(
      (value) => pending.answered(value),
      (err: unknown) => pending.failed(err),
    );
    return promise;
  }

  // Deadlines share one timer. Every call has the same timeout, so calls expire in the order
  // they were made: a FIFO (linked through the calls) whose settled head is dropped as replies
  // arrive (one connection answers in order), and one timer armed for the oldest unsettled
  // call, replace a setTimeout and a clearTimeout per call on the hit path.
  #head: Expirable | undefined;
  #tail: Expirable | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Answers (replies and error replies) so far: a call that times out with this unchanged since it was sent met a silent server. */
  #answers = 0;

  #enqueue(p: Expirable): void {
    if (this.#tail === undefined) this.#head = p;
    else this.#tail.next = p;
    this.#tail = p;
    if (this.#timer === undefined) this.#arm(this.#opts.commandTimeoutMs);
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(1, Math.ceil(delayMs)));
    this.#timer.unref();
  }

  /** @internal A call settled: drop the settled prefix of the queue. */
  dropSettled(): void {
    let h = this.#head;
    while (h !== undefined && h.settled) {
      const next = h.next;
      h.next = undefined;
      h = next;
    }
    this.#head = h;
    if (h === undefined) this.#tail = undefined;
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (;;) {
      this.dropSettled();
      const head = this.#head;
      if (head === undefined) return;
      if (head.deadlineMs > now) {
        this.#arm(head.deadlineMs - now);
        return;
      }
      head.timedOut(this.#opts.commandTimeoutMs);
    }
  }

  /** @internal */
  onAnswer(probe: boolean): void {
    this.#answers++;
    this.#consecutiveTimeouts = 0;
    // Any answer shows the server is alive, even a late one from before the circuit opened.
    if (probe) this.#probeDone(true);
    else if (!this.#probing) this.#openUntilMs = 0;
  }

  /** @internal */
  onError(probe: boolean, err: unknown): void {
    // An error reply is an answer: the server is alive. A dropped connection is not.
    const answered = isErrorReply(err);
    if (answered) this.#answers++;
    if (probe) this.#probeDone(answered);
  }

  /** @internal */
  onDeadline(probe: boolean, answersAtSend: number): void {
    this.#onTimeout(answersAtSend);
    if (probe) this.#probeDone(false);
  }

  #onTimeout(answersAtSend: number): void {
    this.#consecutiveTimeouts++;
    // Nothing at all came back since this call was sent: the server is silent (frozen, or the
    // network is gone), not merely slow on one command. Open at once, so a request making
    // several cache calls in a row pays one deadline, not one per call until the threshold.
    const silent = this.#answers === answersAtSend;
    if (silent || this.#consecutiveTimeouts >= this.#opts.breakerThreshold) {
      this.#openUntilMs = this.#opts.now() + this.#opts.breakerCooldownMs;
    }
  }
}

interface Expirable {
  readonly settled: boolean;
  /** The call made after this one, while this one is queued. */
  next: Expirable | undefined;
  readonly deadlineMs: number;
  timedOut(timeoutMs: number): void;
}

export type OnReply<T, C, R> = (value: T, ctx: C) => R | Promise<R>;
export type OnFailure<C, R> = (err: CacheError, ctx: C) => R | Promise<R>;

const passThrough = <T>(value: T): T => value;
const rethrow = (err: CacheError): never => {
  throw err;
};

// A shared executor: `new Promise(captureResolvers)` allocates no closure for it. The executor
// runs synchronously, so the resolvers are read back on the next line.
let capturedResolve: (value: never) => void = () => {};
let capturedReject: (err: unknown) => void = () => {};
function captureResolvers(resolve: (value: never) => void, reject: (err: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** One call under a deadline; settles once, whichever of reply, error or deadline comes first. */
class PendingCall<T, C, R> implements Expirable {
  settled = false;
  next: Expirable | undefined = undefined;
  constructor(
    readonly guard: Guard,
    readonly operation: string,
    readonly deadlineMs: number,
    readonly probe: boolean,
    readonly answersAtSend: number,
    readonly ctx: C,
    readonly onReply: OnReply<T, C, R>,
    readonly onFailure: OnFailure<C, R>,
    readonly resolve: (value: R | Promise<R>) => void,
    readonly reject: (err: unknown) => void,
  ) {}

  answered(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.guard.dropSettled();
    this.guard.onAnswer(this.probe);
    try {
      this.resolve(this.onReply(value, this.ctx));
    } catch (err) {
      this.reject(err);
    }
  }

  failed(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.guard.dropSettled();
    this.guard.onError(this.probe, err);
    this.#fail(classify(this.operation, err));
  }

  timedOut(timeoutMs: number): void {
    if (this.settled) return;
    this.settled = true;
    this.guard.onDeadline(this.probe, this.answersAtSend);
    this.#fail(new CommandTimeoutError(this.operation, timeoutMs));
  }

  #fail(err: CacheError): void {
    try {
      this.resolve(this.onFailure(err, this.ctx));
    } catch (thrown) {
      this.reject(thrown);
    }
  }
}

/**
 * Whether node-redis rejected with an error reply from Redis (rather than a dropped connection
 * or a client-side failure). A client passed in may come from another copy of node-redis (5 or
 * 6), whose ErrorReply is another class than this package's, so `instanceof` alone misses it;
 * each version names the class ErrorReply (SimpleError, BlobError and MultiErrorReply extend
 * it), so the prototype chain is also checked by name.
 */
export function isErrorReply(err: unknown): err is Error {
  if (err instanceof ErrorReply) return true;
  if (!(err instanceof Error)) return false;
  for (let p: object | null = Object.getPrototypeOf(err) as object | null; p !== null && p !== Error.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.hasOwn(p, 'constructor') && (p as { constructor: { name?: unknown } }).constructor.name === 'ErrorReply') return true;
  }
  return false;
}

/** Whether err is Redis's error reply (bare, or as a RedisCommandError's cause) whose message matches. */
function replyMatches(err: unknown, message: RegExp): boolean {
  const reply = err instanceof RedisCommandError ? err.cause : err;
  return isErrorReply(reply) && message.test(reply.message);
}

export const isWrongType = (err: unknown): boolean => replyMatches(err, /^WRONGTYPE/);
/** Redis refused a write command for memory (`maxmemory` with `noeviction`). */
export const isOutOfMemory = (err: unknown): boolean => replyMatches(err, /^OOM/);
/** Redis does not know a command's form: `SET … NX … GET` before 7.0, `SET … IFEQ` before Redis 8.4 and Valkey 8.1. */
export const isSyntaxError = (err: unknown): boolean => replyMatches(err, /syntax error/i);

/** Maps whatever node-redis threw to one of the library's typed errors, keeping the cause. */
export function classify(operation: string, err: unknown): CacheError {
  if (err instanceof CacheError) return err;
  if (isErrorReply(err)) return new RedisCommandError(`Redis ${operation} failed: ${err.message}`, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new RedisUnavailableError(`Redis ${operation} failed: ${message}`, { cause: err });
}
