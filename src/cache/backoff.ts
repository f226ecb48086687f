/**
 * Reconnect delay for attempt n (1-based): min(n × 100, 3000) ms, ±20 % jitter so a fleet that
 * lost Redis together does not reconnect, or give up, in lockstep.
 */
export const RECONNECT_STEP_MS = 100;
export const RECONNECT_MAX_DELAY_MS = 3000;
export const RECONNECT_JITTER = 0.2;

export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(Math.max(attempt, 1) * RECONNECT_STEP_MS, RECONNECT_MAX_DELAY_MS);
  const jitter = 1 + (random() * 2 - 1) * RECONNECT_JITTER;
  return Math.round(base * jitter);
}

export interface ReconnectWindow {
  /** Σ min(n × 100, 3000) ms for n = 1..attempts: the window without jitter. */
  nominalMs: number;
  /** Every delay at −20 %. */
  minMs: number;
  /** Every delay at +20 %: the latest a give-up can come when each attempt fails at once. */
  maxMs: number;
}

/**
 * How long `attempts` failed reconnects take when each fails at once (a refused connection):
 * the sum of their delays. 20 attempts: 100 + 200 + … + 2000 = 21 000 ms nominal, 16.8–25.2 s
 * with jitter. An attempt that hangs instead (a host that drops packets) would stretch this by a
 * connect timeout each, so the server also caps the window at `maxMs` with a timer.
 */
export function reconnectWindow(attempts: number): ReconnectWindow {
  if (!Number.isSafeInteger(attempts) || attempts < 0) throw new RangeError(`attempts must be a non-negative integer, got ${attempts}`);
  let nominalMs = 0;
  for (let n = 1; n <= attempts; n++) nominalMs += Math.min(n * RECONNECT_STEP_MS, RECONNECT_MAX_DELAY_MS);
  return { nominalMs, minMs: Math.round(nominalMs * (1 - RECONNECT_JITTER)), maxMs: Math.round(nominalMs * (1 + RECONNECT_JITTER)) };
}
