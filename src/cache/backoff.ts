/**
 * Reconnect delay for attempt n (1-based): min(n × 100, 3000) ms, ±20 % jitter so a fleet that
 * lost Redis together does not reconnect, or give up, in lockstep.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(Math.max(attempt, 1) * 100, 3000);
  const jitter = 1 + (random() * 2 - 1) * 0.2;
  return Math.round(base * jitter);
}
