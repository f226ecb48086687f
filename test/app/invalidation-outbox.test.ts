/**
 * An invalidation that fails (Redis frozen when the write commits) is retried until Redis takes
 * it, and reads of the key bypass the cache meanwhile: a Redis that comes back still holding the
 * old value never serves it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await createTestApp();
  token = await t.loginAs(1);
});
afterAll(async () => {
  t.redisServer.resume();
  await t.close();
});

const profile = async (): Promise<{ displayName: string; xCache: unknown }> => {
  const res = await t.app.inject({ method: 'GET', url: '/users/1', headers: bearer(token) });
  expect(res.statusCode).toBe(200);
  return { displayName: res.json<{ displayName: string }>().displayName, xCache: res.headers['x-cache'] };
};

describe('invalidation outbox', () => {
  it('a profile edit made while Redis is frozen is never undone by the old cached profile', async () => {
    await profile();
    expect((await profile()).xCache).toBe('HIT');
    expect(await t.keyExists('user:1:profile')).toBe(true);

    t.redisServer.freeze();
    try {
      const res = await t.app.inject({ method: 'PATCH', url: '/users/1', headers: bearer(token), payload: { displayName: 'Renamed While Frozen' } });
      expect(res.statusCode).toBe(200);
      expect(t.deps.cacheAccess.pendingInvalidations.keys).toBeGreaterThanOrEqual(1);
      // Still frozen: the read goes to the database, not to the (unreachable) old entry.
      expect((await profile()).displayName).toBe('Renamed While Frozen');
    } finally {
      t.redisServer.resume();
    }
    // Redis is back with the old entry in it; the read must still not serve it.
    const right = await profile();
    expect(right.displayName).toBe('Renamed While Frozen');
    await expect.poll(() => t.deps.cacheAccess.pendingInvalidations.keys, { timeout: 10_000, interval: 100 }).toBe(0);
    expect(await t.keyExists('user:1:profile')).toBe(false);
    expect(await profile()).toEqual({ displayName: 'Renamed While Frozen', xCache: 'MISS' });
    expect(await profile()).toEqual({ displayName: 'Renamed While Frozen', xCache: 'HIT' });
  });
});
