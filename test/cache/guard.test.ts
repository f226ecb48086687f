import { describe, expect, it } from 'vitest';
import { Guard } from '../../src/cache/guard.ts';

const never = (): Promise<string> => new Promise<string>(() => {});
const ok = (): Promise<string> => Promise.resolve('PONG');

describe('Guard: deadline and circuit breaker', () => {
  it('opens after the threshold, lets exactly one probe through after the cooldown, closes when it answers', async () => {
    let nowMs = 1000;
    const g = new Guard({ commandTimeoutMs: 20, breakerThreshold: 2, breakerCooldownMs: 100, now: () => nowMs });
    // A server that answers other calls while one is slow: the threshold applies.
    const slow = g.run('GET', never);
    await expect(g.run('GET', ok)).resolves.toBe('PONG');
    await expect(slow).rejects.toMatchObject({ code: 'E_COMMAND_TIMEOUT' });
    expect(g.circuitOpen).toBe(false);
    const slow2 = g.run('GET', never);
    await expect(g.run('GET', ok)).resolves.toBe('PONG');
    await expect(slow2).rejects.toMatchObject({ code: 'E_COMMAND_TIMEOUT' });
    expect(g.circuitOpen).toBe(false);
    // Two in a row with nothing answering in between.
    await expect(g.run('GET', never)).rejects.toMatchObject({ code: 'E_COMMAND_TIMEOUT' });
    expect(g.circuitOpen).toBe(true);

    // Open: fails at once without calling.
    let calls = 0;
    const counted = (): Promise<string> => {
      calls++;
      return never();
    };
    await expect(g.run('GET', counted)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    expect(calls).toBe(0);

    // Cooldown over: one probe; concurrent calls still fail fast; the probe times out and re-opens.
    nowMs += 101;
    const probe = g.run('GET', counted);
    await expect(g.run('GET', counted)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    await expect(probe).rejects.toMatchObject({ code: 'E_COMMAND_TIMEOUT' });
    expect(calls).toBe(1);
    await expect(g.run('GET', ok)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });

    // Next cooldown: the probe answers, the circuit closes.
    nowMs += 101;
    await expect(g.run('GET', ok)).resolves.toBe('PONG');
    expect(g.circuitOpen).toBe(false);
    await expect(g.run('GET', ok)).resolves.toBe('PONG');
  });

  it('a server silent since the call was sent opens the circuit on the first time-out', async () => {
    const g = new Guard({ commandTimeoutMs: 20, breakerThreshold: 3, breakerCooldownMs: 1000, now: () => Date.now() });
    await expect(g.run('GET', ok)).resolves.toBe('PONG');
    await expect(g.run('GET', never)).rejects.toMatchObject({ code: 'E_COMMAND_TIMEOUT' });
    expect(g.circuitOpen).toBe(true);
    const t0 = performance.now();
    await expect(g.run('GET', never)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    expect(performance.now() - t0).toBeLessThan(10);
  });
});
