/** CACHE_ENABLED=false: every read answers X-Cache: BYPASS from the database, sessions included, and writes still work. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let demo: string;

beforeAll(async () => {
  t = await createTestApp({ config: { cacheEnabled: false } });
  demo = await t.loginAs(1);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('CACHE_ENABLED=false', () => {
  it('answers BYPASS on every cached route, twice in a row', async () => {
    const urls = ['/users/1', '/guilds/1', '/guilds/1/members', '/jobs?status=open&page=1', '/jobs/1', '/wallets/1/balance', '/chats/1/messages', '/notifications'];
    for (const url of urls) {
      for (let i = 0; i < 2; i++) {
        const res = await t.app.inject({ method: 'GET', url, headers: bearer(demo) });
        expect(res.statusCode, url).toBe(200);
        expect(res.headers['x-cache'], url).toBe('BYPASS');
      }
    }
    const board = await t.app.inject({ method: 'GET', url: '/leaderboards/global' });
    expect(board.headers['x-cache']).toBe('BYPASS');
  });

  it('sessions live in the database alone: log-in, use, log-out', async () => {
    const token = await t.loginAs(2);
    expect((await t.app.inject({ method: 'GET', url: '/users/2', headers: bearer(token) })).statusCode).toBe(200);
    expect(await t.keys('session:*')).toEqual([]);
    expect((await t.app.inject({ method: 'DELETE', url: '/sessions/current', headers: bearer(token) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/users/2', headers: bearer(token) })).statusCode).toBe(401);
  });

  it('writes work and the next read sees them', async () => {
    const before = (await t.app.inject({ method: 'GET', url: '/wallets/1/balance', headers: bearer(demo) })).json<{ balance: number }>().balance;
    const res = await t.app.inject({ method: 'POST', url: '/wallets/1/transactions', headers: bearer(demo), payload: { type: 'debit', amount: 7 } });
    expect(res.statusCode).toBe(201);
    const after = await t.app.inject({ method: 'GET', url: '/wallets/1/balance', headers: bearer(demo) });
    expect(after.json()).toEqual({ balance: before - 7 });
    expect((await t.app.inject({ method: 'PATCH', url: '/users/1', headers: bearer(demo), payload: { bio: 'no cache' } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/users/1', headers: bearer(demo) })).json()).toMatchObject({ bio: 'no cache' });
  });

  it('leaves no cached value in Redis (only rate-limit counters)', async () => {
    const keys = await t.keys('*');
    expect(keys.filter((k) => !k.startsWith('ratelimit:'))).toEqual([]);
  });
});
