/**
 * The backend's read policies from the consistency work: leaderboards and job listings are
 * served stale within grace while one caller refreshes (X-Cache: STALE), wallet balances never
 * are, and an invalidation removes a value outright, grace or not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/cache/index.ts';
import { bearer, createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let clock: ManualClock;
let token: string;

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  t = await createTestApp({ clock });
  token = await t.loginAs(1);
});
afterAll(async () => {
  await t.close();
});

const get = async (url: string): Promise<{ status: number; xCache: string | undefined }> => {
  const res = await t.app.inject({ method: 'GET', url, headers: bearer(token) });
  return { status: res.statusCode, xCache: res.headers['x-cache'] as string | undefined };
};

describe('grace in the backend', () => {
  it('a leaderboard past its TTL is served STALE at once, then refreshed', async () => {
    expect((await get('/leaderboards/global?limit=5')).xCache).toBe('MISS');
    expect((await get('/leaderboards/global?limit=5')).xCache).toBe('HIT');
    clock.advance(331_000); // past TTL 300 s + 10 % jitter, inside 600 s of grace
    const stale = await get('/leaderboards/global?limit=5');
    expect(stale).toEqual({ status: 200, xCache: 'STALE' });
    await t.cache().idle();
    expect((await get('/leaderboards/global?limit=5')).xCache).toBe('HIT');
  });

  it('a job listing page past its TTL is served STALE; posting a job removes it outright', async () => {
    expect((await get('/jobs?status=open&page=1')).xCache).toBe('MISS');
    clock.advance(331_000);
    expect((await get('/jobs?status=open&page=1')).xCache).toBe('STALE');
    await t.cache().idle();
    const res = await t.app.inject({ method: 'POST', url: '/jobs', headers: bearer(token), payload: { title: 'Paint the fence', description: 'White', reward: 10 } });
    expect(res.statusCode).toBe(201);
    clock.advance(331_000);
    expect((await get('/jobs?status=open&page=1')).xCache).toBe('MISS');
  });

  it('a wallet balance past its TTL is a MISS, never STALE', async () => {
    expect((await get('/wallets/1/balance')).xCache).toBe('MISS');
    expect((await get('/wallets/1/balance')).xCache).toBe('HIT');
    clock.advance(34_000); // past 30 s + 10 % jitter
    expect((await get('/wallets/1/balance')).xCache).toBe('MISS');
  });
});
