import { describe, expect, it } from 'vitest';
import { reconnectDelayMs, reconnectWindow } from '../../src/cache/index.ts';

describe('reconnect backoff', () => {
  it('grows by 100 ms an attempt up to 3 s, within ±20 %', () => {
    expect(reconnectDelayMs(1, () => 0.5)).toBe(100);
    expect(reconnectDelayMs(7, () => 0.5)).toBe(700);
    expect(reconnectDelayMs(45, () => 0.5)).toBe(3000);
    expect(reconnectDelayMs(10, () => 0)).toBe(800);
    expect(reconnectDelayMs(10, () => 1)).toBe(1200);
  });

  it('the window is the sum of the delays: 21 s for the default 20 attempts', () => {
    expect(reconnectWindow(20)).toEqual({ nominalMs: 21_000, minMs: 16_800, maxMs: 25_200 });
    // Past attempt 30 every delay is the 3 s cap.
    expect(reconnectWindow(32).nominalMs).toBe(46_500 + 2 * 3000);
    expect(reconnectWindow(0).nominalMs).toBe(0);
    expect(() => reconnectWindow(-1)).toThrow(RangeError);
  });
});
