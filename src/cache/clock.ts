/**
 * TTL logic reads time from a Clock so tests and the simulator can advance time instead of
 * sleeping. Redis keeps its own time for physical expiry; the clock drives everything the
 * library decides itself (memory-store expiry, logical expiry, jitter, early refresh).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

// One clock read serves every call made in the same synchronous run and the microtasks already
// queued behind it (a batch of replies, and the calls they trigger). A read costs about 50 ns
// on the VMs we measured, and a cache hit made two (deadline, freshness): per batch of 64 hits
// that was most of a microsecond. A value is at most as old as that run of work, which is
// nothing next to TTLs in seconds and a deadline of hundreds of milliseconds.
let wallMs = 0;
let monotonicMs = 0;
let fresh = false;
const expire = (): void => {
  fresh = false;
};

function read(): void {
  wallMs = Date.now();
  monotonicMs = performance.now();
  fresh = true;
  queueMicrotask(expire);
}

/** Date.now(), read once per batch of work. */
export function batchWallMs(): number {
  if (!fresh) read();
  return wallMs;
}

/** performance.now(), read once per batch of work (deadlines: monotonic, unlike Date.now). */
export function batchMonotonicMs(): number {
  if (!fresh) read();
  return monotonicMs;
}

/** The wall clock, read once per batch of work (see batchWallMs). */
export const systemClock: Clock = { now: batchWallMs };

/** A clock that only moves when told to. For tests and the simulator. */
export class ManualClock implements Clock {
  #nowMs: number;
  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }
  now(): number {
    return this.#nowMs;
  }
  advance(ms: number): void {
    this.#nowMs += ms;
  }
  set(ms: number): void {
    this.#nowMs = ms;
  }
}
