/**
 * TTL logic reads time from a Clock so tests and the simulator can advance time instead of
 * sleeping. Redis keeps its own time for physical expiry; the clock drives everything the
 * library decides itself (memory-store expiry, logical expiry, jitter, early refresh).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

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
