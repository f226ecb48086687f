/** The domain warmers registered in warm.ts: leaderboards, the most active guilds, open job listings. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { warmCache, warmers } from '../../src/app/warm.ts';
import { bearer, createTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;

beforeAll(async () => {
  // 3,000 users: 60 guilds (so "top 50" is a choice) and 600 jobs (5 full pages of open ones).
  t = await createTestApp({ users: 3000 });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('cache warming', () => {
  it('registers the leaderboards, guilds and jobs warmers', () => {
    expect(Object.keys(warmers).sort()).toEqual(['guilds', 'jobs', 'leaderboards']);
  });

  it('loads both boards, the 50 most active guilds with their members, and open job pages 1-5', async () => {
    const logger: FastifyBaseLogger = pino({ level: 'silent' });
    const report = await warmCache(t.deps, logger, 10_000);
    expect(report.timedOut).toBe(false);
    expect(report.warmed).toEqual({ leaderboards: 2, guilds: 100, jobs: 5 });
    expect(await t.keys('leaderboard:*')).toEqual(['leaderboard:global', 'leaderboard:weekly']);
    expect(await t.keys('jobs:*')).toEqual(['jobs:open:1', 'jobs:open:2', 'jobs:open:3', 'jobs:open:4', 'jobs:open:5']);
    const { rows } = await t.db.query<{ id: number }>('SELECT id FROM guilds ORDER BY activity_score DESC, id');
    const top = rows.slice(0, 50).map((r) => r.id);
    const rest = rows.slice(50).map((r) => r.id);
    expect(rest.length).toBeGreaterThan(0);
    for (const id of top) {
      expect(await t.keyExists(`guild:${id}`)).toBe(true);
      expect(await t.keyExists(`guild:${id}:members`)).toBe(true);
    }
    for (const id of rest) expect(await t.keyExists(`guild:${id}`)).toBe(false);
  });

  it('warmed values are the ones a request would have read', async () => {
    const token = await t.loginAs(1);
    const { rows } = await t.db.query<{ id: number }>('SELECT id FROM guilds ORDER BY activity_score DESC, id LIMIT 1');
    const id = rows[0]?.id as number;
    for (const url of [`/guilds/${id}`, `/guilds/${id}/members`, '/jobs?status=open&page=5', '/leaderboards/weekly?limit=100']) {
      const hit = await t.app.inject({ method: 'GET', url, headers: bearer(token) });
      expect(hit.headers['x-cache'], url).toBe('HIT');
      const key = url.startsWith('/guilds') ? (url.endsWith('members') ? `guild:${id}:members` : `guild:${id}`) : url.startsWith('/jobs') ? 'jobs:open:5' : 'leaderboard:weekly';
      await t.redis.del(t.prefix + key);
      const miss = await t.app.inject({ method: 'GET', url, headers: bearer(token) });
      expect(miss.headers['x-cache'], url).toBe('MISS');
      expect(miss.json(), url).toEqual(hit.json());
    }
  });

  it('a second run loads nothing new', async () => {
    const report = await warmCache(t.deps, pino({ level: 'silent' }), 10_000);
    expect(report.warmed).toEqual({ leaderboards: 0, guilds: 0, jobs: 0 });
  });

  it('warmed job pages carry the listing\'s tag: a new job invalidates them', async () => {
    const token = await t.loginAs(1);
    expect((await t.app.inject({ method: 'GET', url: '/jobs?status=open&page=2', headers: bearer(token) })).headers['x-cache']).toBe('HIT');
    const created = await t.app.inject({ method: 'POST', url: '/jobs', headers: bearer(token), payload: { title: 'Posted after warming', reward: 1 } });
    expect(created.statusCode).toBe(201);
    const page1 = await t.app.inject({ method: 'GET', url: '/jobs?status=open&page=1', headers: bearer(token) });
    expect(page1.headers['x-cache']).toBe('MISS');
    expect(page1.json<{ items: Array<{ id: number }> }>().items[0]?.id).toBe(created.json<{ id: number }>().id);
    expect((await t.app.inject({ method: 'GET', url: '/jobs?status=open&page=2', headers: bearer(token) })).headers['x-cache']).toBe('MISS');
  });
});
