/** Jobs: listings and jobs (MISS then HIT), create / edit / complete and exactly what they invalidate (keys, and the listings' tags). Escrow rules: escrow.test.ts. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, describeEachDatabase, type TestApp } from '../../helpers/app.ts';

describeEachDatabase('jobs', (database) => {
  let t: TestApp;
  let demo: string;
  let other: string;

  interface Job {
    id: number;
    ownerId: number;
    title: string;
    status: string;
    reward: number;
    held: number;
    assigneeId: number | null;
  }

  beforeAll(async () => {
    t = await createTestApp({ database });
    [demo, other] = await Promise.all([t.loginAs(1), t.loginAs(2)]);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const get = (url: string, token = demo) => t.app.inject({ method: 'GET', url, headers: bearer(token) });
  const send = (method: 'POST' | 'PATCH', url: string, payload: object, token = demo) => t.app.inject({ method, url, payload, headers: bearer(token) });
  /** The X-Cache answer of a listing page. */
  const listing = async (status: string, page = 1): Promise<unknown> => (await get(`/jobs?status=${status}&page=${page}`)).headers['x-cache'];
  /** The stored balance, through the port (never the cache). */
  const dbBalance = async (userId: number): Promise<number> => (await t.deps.data.wallets.findBalance(userId)) as number;

  async function openJobOf(ownerId: number): Promise<number> {
    const res = await send('POST', '/jobs', { title: `Job of ${ownerId}`, reward: 50 }, ownerId === 1 ? demo : other);
    return res.json<Job>().id;
  }

  describe('reads', () => {
    it('GET /jobs: MISS then HIT per status and page, newest first', async () => {
      const first = await get('/jobs?status=open&page=1');
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      const body = first.json<{ items: Job[]; page: number; pageSize: number; hasMore: boolean }>();
      expect(body.items.length).toBeGreaterThan(0);
      expect(body.items.every((j) => j.status === 'open')).toBe(true);
      expect(body).toMatchObject({ page: 1, pageSize: 20 });
      expect((await get('/jobs?status=open&page=1')).headers['x-cache']).toBe('HIT');
      // The default is status=open, page=1: the same key.
      expect((await get('/jobs')).headers['x-cache']).toBe('HIT');
      expect(await t.keyExists('jobs:open:1')).toBe(true);
    });

    it('GET /jobs/:id: MISS then HIT from job:{id}', async () => {
      const first = await get('/jobs/1');
      expect(first.statusCode).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      expect(first.json()).toMatchObject({ id: 1, ownerId: 1 });
      expect((await get('/jobs/1')).headers['x-cache']).toBe('HIT');
    });

    it('answers 404 for an unknown job (nothing cached) and 400 naming the field', async () => {
      expect((await get('/jobs/999999')).statusCode).toBe(404);
      expect(await t.keyExists('job:999999')).toBe(false);
      const badStatus = await get('/jobs?status=nope');
      expect(badStatus.statusCode).toBe(400);
      expect(badStatus.json()).toMatchObject({ field: 'status' });
      const badPage = await get('/jobs?page=0');
      expect(badPage.json()).toMatchObject({ field: 'page' });
    });

    it('answers 401 without a session', async () => {
      expect((await t.app.inject({ method: 'GET', url: '/jobs' })).statusCode).toBe(401);
    });
  });

  describe('POST /jobs', () => {
    it('creates an open job: invalidates the open listings only, without a scan; the next page 1 shows it', async () => {
      await get('/jobs?status=open&page=1');
      await get('/jobs?status=open&page=2');
      await get('/jobs?status=closed&page=1');
      await get('/jobs/1');
      expect(await listing('open', 2)).toBe('HIT');
      const scansBefore = await t.redisCalls('scan');
      const res = await send('POST', '/jobs', { title: 'Brand new job', description: 'Do it', reward: 120 });
      expect(res.statusCode).toBe(201);
      const job = res.json<Job>();
      expect(job).toMatchObject({ ownerId: 1, status: 'open', reward: 120, assigneeId: null });
      expect(await t.redisCalls('scan')).toBe(scansBefore);
      const page = await get('/jobs?status=open&page=1');
      expect(page.headers['x-cache']).toBe('MISS');
      expect(page.json<{ items: Job[] }>().items[0]?.id).toBe(job.id);
      expect(await listing('open', 2)).toBe('MISS');
      expect(await listing('closed')).toBe('HIT');
      expect((await get('/jobs/1')).headers['x-cache']).toBe('HIT');
    });

    it('answers 400 naming the field', async () => {
      const noTitle = await send('POST', '/jobs', { reward: 1 });
      expect(noTitle.statusCode).toBe(400);
      expect(noTitle.json()).toMatchObject({ field: 'title' });
      const negative = await send('POST', '/jobs', { title: 'x', reward: -1 });
      expect(negative.json()).toMatchObject({ field: 'reward' });
      const blank = await send('POST', '/jobs', { title: '   ', reward: 1 });
      expect(blank.json()).toMatchObject({ field: 'title' });
    });
  });

  describe('PATCH /jobs/:id', () => {
    it('the owner edits a job: deletes job:{id}, invalidates that status\'s listings without a scan, the next reads show the change', async () => {
      const id = await openJobOf(1);
      await get(`/jobs/${id}`);
      await get('/jobs/1');
      await get('/jobs?status=open&page=1');
      await get('/jobs?status=closed&page=1');
      expect(await listing('open')).toBe('HIT');
      const scansBefore = await t.redisCalls('scan');
      const res = await send('PATCH', `/jobs/${id}`, { title: 'Renamed job' });
      expect(res.statusCode).toBe(200);
      expect(await t.redisCalls('scan')).toBe(scansBefore);
      expect(await t.keyExists(`job:${id}`)).toBe(false);
      expect(await t.keyExists('job:1')).toBe(true);
      const after = await get(`/jobs/${id}`);
      expect(after.headers['x-cache']).toBe('MISS');
      expect(after.json()).toMatchObject({ title: 'Renamed job' });
      const open = await get('/jobs?status=open&page=1');
      expect(open.headers['x-cache']).toBe('MISS');
      expect(open.json<{ items: Job[] }>().items.find((j) => j.id === id)).toMatchObject({ title: 'Renamed job' });
      expect(await listing('closed')).toBe('HIT');
    });

    it('closing moves the job between listings: both statuses\' pages are invalidated, the third\'s stay', async () => {
      const id = await openJobOf(1);
      await get('/jobs?status=open&page=1');
      await get('/jobs?status=closed&page=1');
      await get('/jobs?status=completed&page=1');
      expect((await send('PATCH', `/jobs/${id}`, { status: 'closed' })).statusCode).toBe(200);
      const open = await get('/jobs?status=open&page=1');
      expect(open.headers['x-cache']).toBe('MISS');
      expect(open.json<{ items: Job[] }>().items.map((j) => j.id)).not.toContain(id);
      const closed = await get('/jobs?status=closed&page=1');
      expect(closed.headers['x-cache']).toBe('MISS');
      expect(closed.json<{ items: Job[] }>().items.map((j) => j.id)).toContain(id);
      expect(await listing('completed')).toBe('HIT');
    });

    it('completing an accepted job pays the held reward to the assignee\'s wallet and scores; deletes boards and both balances', async () => {
      const assignee = 42;
      const assigneeToken = await t.loginAs(assignee);
      const id = (await send('POST', '/jobs', { title: 'Paid job', reward: 300 })).json<Job>().id;
      const before = (await t.inspect.score(assignee, 'global')) as number;
      const walletBefore = await dbBalance(assignee);
      expect((await send('PATCH', `/jobs/${id}`, { assigneeId: assignee })).statusCode).toBe(200);
      expect(await listing('open')).toBe('MISS');
      expect(await listing('open')).toBe('HIT');
      expect((await send('POST', `/jobs/${id}/accept`, {}, assigneeToken)).statusCode).toBe(200);
      // Accepting changes the job as the open listing shows it.
      const open = await get('/jobs?status=open&page=1');
      expect(open.headers['x-cache']).toBe('MISS');
      expect(open.json<{ items: Array<Job & { acceptedAt: string | null }> }>().items.find((j) => j.id === id)?.acceptedAt).toEqual(expect.any(String));
      await t.app.inject({ method: 'GET', url: '/leaderboards/global' });
      await t.app.inject({ method: 'GET', url: '/leaderboards/weekly' });
      await get('/users/1');
      await get(`/wallets/${assignee}/balance`, assigneeToken);
      await get('/wallets/1/balance');
      const res = await send('PATCH', `/jobs/${id}`, { status: 'completed' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'completed', assigneeId: assignee, reward: 300, held: 0 });
      expect(await t.keyExists('leaderboard:global')).toBe(false);
      expect(await t.keyExists('leaderboard:weekly')).toBe(false);
      expect(await t.keyExists(`wallet:${assignee}:balance`)).toBe(false);
      expect(await t.keyExists('user:1:profile')).toBe(true);
      // The owner's balance did not move at completion (the reward left it at creation): its key stays.
      expect(await t.keyExists('wallet:1:balance')).toBe(true);
      expect(await dbBalance(assignee)).toBe(walletBefore + 300);
      expect(await t.inspect.score(assignee, 'global')).toBe(before + 300);
      const forJob = async (userId: number) => (await t.inspect.ledger(userId)).filter((e) => e.jobId === id).map((e) => ({ user_id: userId, type: e.type, amount: e.amount }));
      const ledger = [...(await forJob(1)), ...(await forJob(assignee))];
      expect(ledger).toEqual([
        { user_id: 1, type: 'hold', amount: 300 },
        { user_id: assignee, type: 'reward', amount: 300 },
      ]);
      // Completed is final: no second payment.
      const again = await send('PATCH', `/jobs/${id}`, { reward: 1 });
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ error: 'E_JOB_COMPLETED' });
    });

    it('refuses to complete without an assignee, or with the owner as assignee (400 naming assigneeId)', async () => {
      const id = await openJobOf(1);
      const none = await send('PATCH', `/jobs/${id}`, { status: 'completed' });
      expect(none.statusCode).toBe(400);
      expect(none.json()).toMatchObject({ field: 'assigneeId' });
      const self = await send('PATCH', `/jobs/${id}`, { status: 'completed', assigneeId: 1 });
      expect(self.json()).toMatchObject({ field: 'assigneeId' });
      const ghost = await send('PATCH', `/jobs/${id}`, { assigneeId: 999_999 });
      expect(ghost.json()).toMatchObject({ field: 'assigneeId' });
    });

    it('answers 403 for someone else\'s job, leaving its cache entry in place', async () => {
      const id = await openJobOf(2);
      await get(`/jobs/${id}`);
      const res = await send('PATCH', `/jobs/${id}`, { title: 'mine now' });
      expect(res.statusCode).toBe(403);
      expect(await t.keyExists(`job:${id}`)).toBe(true);
      expect((await get(`/jobs/${id}`)).json()).toMatchObject({ title: 'Job of 2' });
    });

    it('answers 404 for an unknown job', async () => {
      expect((await send('PATCH', '/jobs/999999', { title: 'x' })).statusCode).toBe(404);
    });
  });
});
