/**
 * Fault tests against a real redis-server that is killed, frozen with SIGSTOP and restarted.
 * Reads never throw and settle within the command deadline; counters and invalidation reject
 * with typed errors; errors are counted, reported to onError, and logged at a bounded rate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache, type CacheErrorEvent } from '../../src/cache/index.ts';
import { startRedisServer, type TestRedisServer } from '../helpers/redis-server.ts';

let server: TestRedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  server.resume();
  await server.stop();
});

const COMMAND_TIMEOUT_MS = 200;

async function elapsed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const t0 = performance.now();
  const [result] = await Promise.allSettled([fn()]);
  return { ms: performance.now() - t0, result: result as PromiseSettledResult<T> };
}

describe('Redis faults', () => {
  it('frozen (SIGSTOP): every call settles within commandTimeoutMs + 100 ms, then recovers', async () => {
    const events: CacheErrorEvent[] = [];
    const logLines: string[] = [];
    const logger = { warn: (_o: object, m: string) => logLines.push(m), error: (_o: object, m: string) => logLines.push(m) };
    const c = createCache({ redis: server.url, prefix: 'frozen:', commandTimeoutMs: COMMAND_TIMEOUT_MS, onError: (e) => events.push(e), logger });
    await c.ready();
    await c.set('user:1', { ok: 1 }, 60);
    server.freeze();
    try {
      const calls: [string, () => Promise<unknown>][] = [
        ['get', () => c.get('user:1')],
        ['getMany', () => c.getMany(['user:1', 'user:2'])],
        ['getOrSet', () => c.getOrSet('user:2', () => 'from-db', 60)],
        ['set', () => c.set('user:3', 1, 60)],
        ['setMany', () => c.setMany([{ key: 'user:4', value: 1, ttl: 60 }])],
        ['del', () => c.del('user:1')],
        ['has', () => c.has('user:1')],
        ['ttl', () => c.ttl('user:1')],
        ['incr', () => c.incr('ratelimit:a:b', 1, 60)],
        ['invalidatePattern', () => c.invalidatePattern('user:*')],
        ['getStats', () => c.getStats()],
      ];
      // Run them all concurrently, twice (the second round meets the open circuit breaker).
      for (let round = 0; round < 2; round++) {
        const timed = await Promise.all(calls.map(async ([name, fn]) => ({ name, ...(await elapsed(fn)) })));
        for (const t of timed) {
          expect(t.ms, `${t.name} took ${t.ms.toFixed(0)} ms`).toBeLessThan(COMMAND_TIMEOUT_MS + 100);
        }
        const byName = Object.fromEntries(timed.map((t) => [t.name, t.result]));
        expect(byName['get']).toEqual({ status: 'fulfilled', value: null });
        expect(byName['getOrSet']).toEqual({ status: 'fulfilled', value: 'from-db' });
        expect(byName['set']).toEqual({ status: 'fulfilled', value: false });
        expect(byName['del']).toEqual({ status: 'fulfilled', value: 0 });
        expect(byName['incr']?.status).toBe('rejected');
        expect(byName['invalidatePattern']?.status).toBe('rejected');
        const reason = (byName['incr'] as PromiseRejectedResult).reason as { code: string };
        expect(['E_COMMAND_TIMEOUT', 'E_REDIS_UNAVAILABLE']).toContain(reason.code);
      }
      const stats = await c.getStats();
      expect(stats.errors).toBeGreaterThanOrEqual(20);
      expect(stats.keys).toBeNull();
      expect(events.some((e) => e.error.code === 'E_COMMAND_TIMEOUT')).toBe(true);
      // Rate-limited: one line per error code per interval, not one per call.
      expect(logLines.length).toBeLessThanOrEqual(3);
    } finally {
      server.resume();
    }
    // After the breaker's cooldown the cache is back.
    await expect.poll(async () => c.set('user:5', 5, 60), { timeout: 5000, interval: 100 }).toBe(true);
    expect(await c.get('user:5')).toBe(5);
    await c.close();
  });

  it('killed: calls fail fast and typed; restarted: the cache reconnects by itself', async () => {
    const events: CacheErrorEvent[] = [];
    const c = createCache({ redis: server.url, prefix: 'killed:', commandTimeoutMs: COMMAND_TIMEOUT_MS, onError: (e) => events.push(e) });
    await c.ready();
    await c.set('user:1', 1, 60);
    await server.kill();
    await expect.poll(() => c.redisState).toBe('reconnecting');
    const t = await elapsed(() => c.get('user:1'));
    expect(t.result).toEqual({ status: 'fulfilled', value: null });
    expect(t.ms).toBeLessThan(COMMAND_TIMEOUT_MS + 100);
    expect(await c.getOrSet('user:1', () => 'db', 60)).toBe('db');
    await expect(c.incr('ratelimit:x:y', 1, 60)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    expect(events.some((e) => e.error.code === 'E_REDIS_UNAVAILABLE')).toBe(true);
    await server.restart();
    await c.ready(5000);
    expect(c.redisState).toBe('ready');
    expect(await c.set('user:1', 2, 60)).toBe(true);
    expect(await c.get('user:1')).toBe(2);
    // The script cache was lost with the server; incr reloads its script.
    expect(await c.incr('ratelimit:x:y', 1, 60)).toBe(1);
    await c.close();
  });

  it('a cache pointed at a closed port answers from the fetcher without hanging', async () => {
    const c = createCache({ redis: 'redis://127.0.0.1:1', commandTimeoutMs: COMMAND_TIMEOUT_MS, connectTimeoutMs: 300 });
    await expect(c.ready(300)).rejects.toMatchObject({ code: 'E_REDIS_UNAVAILABLE' });
    const t = await elapsed(() => c.getOrSet('user:1', () => 'db', 60));
    expect(t.result).toEqual({ status: 'fulfilled', value: 'db' });
    // Never connected: each call waits at most the deadline for the first connection.
    expect(t.ms).toBeLessThan(COMMAND_TIMEOUT_MS + 100);
    await c.close();
  });
});
