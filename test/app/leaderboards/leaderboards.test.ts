/** Leaderboards: public, one cached top-100 per board sliced by ?limit, 404 for unknown boards. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, describeEachDatabase, type TestApp } from '../../helpers/app.ts';

describeEachDatabase('leaderboards', (database) => {
  let t: TestApp;

  interface Board {
    type: string;
    entries: { rank: number; userId: number; displayName: string; score: number }[];
  }

  beforeAll(async () => {
    t = await createTestApp({ database });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const board = (path: string) => t.app.inject({ method: 'GET', url: `/leaderboards/${path}` });

  describe('GET /leaderboards/:type', () => {
    it('is public: MISS, then HIT from leaderboard:{type}; entries ranked by score', async () => {
      const first = await board('global?limit=5');
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      const body = first.json<Board>();
      expect(body.type).toBe('global');
      expect(body.entries.map((e) => e.rank)).toEqual([1, 2, 3, 4, 5]);
      const scores = body.entries.map((e) => e.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      // The source of truth through the port (the same on both databases): ties by user id.
      const top = await t.deps.data.leaderboards.top('global', 5);
      expect(body.entries.map((e) => ({ userId: e.userId, score: e.score }))).toEqual(top.map((e) => ({ userId: e.userId, score: e.score })));
      for (let i = 1; i < body.entries.length; i++) {
        const [a, b] = [body.entries[i - 1], body.entries[i]];
        if (a !== undefined && b !== undefined && a.score === b.score) expect(a.userId).toBeLessThan(b.userId);
      }
      expect((await board('global?limit=5')).headers['x-cache']).toBe('HIT');
    });

    it('every limit is a slice of the same cached board (one key per type)', async () => {
      const ten = await board('global?limit=10');
      expect(ten.headers['x-cache']).toBe('HIT');
      expect(ten.json<Board>().entries).toHaveLength(10);
      expect((await board('global')).json<Board>().entries).toHaveLength(10);
      expect(await t.keys('leaderboard:*')).toEqual(['leaderboard:global']);
    });

    it('serves the weekly board under its own key', async () => {
      const res = await board('weekly?limit=3');
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-cache']).toBe('MISS');
      expect(res.json<Board>().type).toBe('weekly');
      expect(await t.keyExists('leaderboard:weekly')).toBe(true);
    });

    it('answers 404 for an unknown board (nothing cached) and 400 naming the field', async () => {
      const unknown = await board('monthly');
      expect(unknown.statusCode).toBe(404);
      expect(await t.keyExists('leaderboard:monthly')).toBe(false);
      for (const limit of ['0', '101', 'x']) {
        const res = await board(`global?limit=${limit}`);
        expect(res.statusCode, `limit=${limit}`).toBe(400);
        expect(res.json()).toMatchObject({ field: 'limit' });
      }
      const bad = await board('Global!');
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ field: 'type' });
    });
  });
});
