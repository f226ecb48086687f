/**
 * The jobs port's contract (jobs.data.ts), the same assertions on the SQL adapter and on the
 * Firestore adapter (emulator): reads and the board's pages, and the escrow (jobs.rules.ts)
 * as each adapter applies it in one transaction: a flow create → assign → accept → complete
 * moves exactly the held money and the assignee's scores; cancel, re-open and reward changes
 * move exactly the difference; every refusal writes nothing.
 */
import { expect, it } from 'vitest';
import { BOARD_TYPES } from '../../../src/app/db/firestore/model.ts';
import { JOB_STATUSES, type Job } from '../../../src/app/jobs/jobs.data.ts';
import { describePorts, type LedgerRow, refusal } from '../../helpers/ports.ts';

const USERS = 120;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describePorts('jobs port on %s', { users: USERS }, (p) => {
  async function balance(userId: number): Promise<number> {
    const b = await p.wallets.findBalance(userId);
    if (b === undefined) throw new Error(`user ${userId} has no wallet`);
    return b;
  }
  /** Brings the user's balance to exactly `target` through the wallets port. */
  async function setBalance(userId: number, target: number): Promise<void> {
    const b = await balance(userId);
    if (b > target) await p.wallets.debit(userId, b - target);
    if (b < target) await p.wallets.adminCredit(userId, target - b);
  }
  /** Ledger entries written since `before` (a snapshot of the same user's ledger), without their ids. */
  async function newEntries(userId: number, before: readonly LedgerRow[]): Promise<Array<Omit<LedgerRow, 'id'>>> {
    const seen = new Set(before.map((r) => r.id));
    return (await p.inspect.ledger(userId)).filter((r) => !seen.has(r.id)).map(({ type, amount, jobId }) => ({ type, amount, jobId }));
  }

  it('finds a job by id (ISO times, held only while open); undefined for an unknown id', async () => {
    const job = await p.jobs.find(1);
    expect(job).toMatchObject({ id: 1, ownerId: 1 });
    if (job === undefined) return;
    expect(JOB_STATUSES).toContain(job.status);
    expect(job.createdAt).toMatch(ISO);
    expect(job.updatedAt).toMatch(ISO);
    if (job.acceptedAt !== null) expect(job.acceptedAt).toMatch(ISO);
    if (job.status !== 'open') expect(job.held).toBe(0);
    expect(await p.jobs.find(100_000)).toBeUndefined();
    expect(await p.jobs.find(0)).toBeUndefined();
  });

  it('pages each status newest first (createdAt, then id), without gaps or repeats; listFirstPages is the same pages', async () => {
    const pageSize = 3;
    let total = 0;
    for (const status of JOB_STATUSES) {
      const pages = [];
      for (let n = 1; ; n++) {
        const page = await p.jobs.listPage(status, n, pageSize);
        pages.push(page);
        if (!page.hasMore) break;
        expect(page.items).toHaveLength(pageSize);
      }
      const items = pages.flatMap((pg) => pg.items);
      total += items.length;
      for (const j of items) expect(j.status).toBe(status);
      expect(new Set(items.map((j) => j.id)).size).toBe(items.length);
      for (let i = 1; i < items.length; i++) {
        const [a, b] = [items[i - 1] as Job, items[i] as Job];
        expect(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id > b.id)).toBe(true);
      }
      expect(await p.jobs.listFirstPages(status, pages.length + 1, pageSize)).toEqual([...pages, { items: [], hasMore: false }]);
      expect(await p.jobs.listPage(status, pages.length + 5, pageSize)).toEqual({ items: [], hasMore: false });
    }
    expect(total).toBe(Math.round(USERS * 0.2)); // the seed's jobs, all of them found under one status
  });

  it('create → assign → accept → complete: the hold leaves the owner, the assignee gets exactly it and scores it on both boards', async () => {
    const [owner, assignee] = [10, 11];
    const reward = 2_000_000; // above every seeded score: the assignee tops both boards afterwards
    await setBalance(owner, reward + 700);
    const [o0, a0] = [await balance(owner), await balance(assignee)];
    const [ownerLedger, assigneeLedger] = [await p.inspect.ledger(owner), await p.inspect.ledger(assignee)];
    const scores0 = await Promise.all(BOARD_TYPES.map((t) => p.inspect.score(assignee, t)));

    const created = await p.jobs.create(owner, { title: 'Port flow', description: 'the whole escrow', reward });
    const job = created.job;
    expect(created.moved).toEqual([owner]);
    expect(job).toMatchObject({ ownerId: owner, title: 'Port flow', description: 'the whole escrow', status: 'open', reward, held: reward, assigneeId: null, acceptedAt: null });
    expect(job.createdAt).toMatch(ISO);
    expect(job.updatedAt).toBe(job.createdAt);
    expect(await p.jobs.find(job.id)).toEqual(job);
    expect((await p.jobs.listPage('open', 1, 20)).items[0]).toEqual(job);
    expect(await balance(owner)).toBe(o0 - reward);
    expect(await newEntries(owner, ownerLedger)).toEqual([{ type: 'hold', amount: reward, jobId: job.id }]);

    const assigned = await p.jobs.update(owner, job.id, { assigneeId: assignee });
    expect(assigned.before).toEqual(job);
    expect(assigned.job).toMatchObject({ assigneeId: assignee, held: reward, acceptedAt: null });
    expect(assigned.moved).toEqual([]);
    expect(await refusal(p.jobs.update(owner, job.id, { status: 'completed' }))).toEqual({ status: 409, code: 'E_JOB_NOT_ACCEPTED' });
    expect(await refusal(p.jobs.accept(owner, job.id))).toEqual({ status: 403, code: 'E_FORBIDDEN' });

    const accepted = await p.jobs.accept(assignee, job.id);
    expect(accepted.changed).toBe(true);
    expect(accepted.job.acceptedAt).toMatch(ISO);
    expect(await p.jobs.accept(assignee, job.id)).toEqual({ job: accepted.job, changed: false });
    expect(await refusal(p.jobs.update(owner, job.id, { reward: reward + 1 }))).toEqual({ status: 409, code: 'E_JOB_ACCEPTED' });
    expect(await p.jobs.find(job.id)).toEqual(accepted.job);

    const done = await p.jobs.update(owner, job.id, { status: 'completed' });
    expect(done.before).toEqual(accepted.job);
    expect(done.job).toMatchObject({ status: 'completed', held: 0, reward, assigneeId: assignee, acceptedAt: accepted.job.acceptedAt });
    expect(done.moved).toEqual([assignee]);
    expect(await p.jobs.find(job.id)).toEqual(done.job);
    // Exactly the held money moved: out of the owner once, into the assignee once.
    expect(await balance(owner)).toBe(o0 - reward);
    expect(await balance(assignee)).toBe(a0 + reward);
    expect(await newEntries(owner, ownerLedger)).toEqual([{ type: 'hold', amount: reward, jobId: job.id }]);
    expect(await newEntries(assignee, assigneeLedger)).toEqual([{ type: 'reward', amount: reward, jobId: job.id }]);
    // And the scores, on both boards, under the assignee's name.
    const name = await p.inspect.displayName(assignee);
    for (const [i, type] of BOARD_TYPES.entries()) {
      const score = (scores0[i] ?? 0) + reward;
      expect(await p.inspect.score(assignee, type)).toBe(score);
      expect((await p.leaderboards.top(type, 1))[0]).toEqual({ rank: 1, userId: assignee, displayName: name, score });
    }
    expect(await p.leaderboards.boardsRankingUser(assignee, BOARD_TYPES, 1)).toEqual([...BOARD_TYPES]);

    expect(await refusal(p.jobs.update(owner, job.id, { title: 'again' }))).toEqual({ status: 409, code: 'E_JOB_COMPLETED' });
    expect(await refusal(p.jobs.accept(assignee, job.id))).toEqual({ status: 409, code: 'E_JOB_NOT_OPEN' });
    expect(await balance(owner)).toBe(o0 - reward);
    expect(await balance(assignee)).toBe(a0 + reward);
  });

  it('reward changes hold or release the difference; cancel releases the hold and the acceptance; re-opening holds again', async () => {
    const [owner, assignee] = [20, 21];
    await setBalance(owner, 1_000);
    const ledger = await p.inspect.ledger(owner);
    const { job } = await p.jobs.create(owner, { title: 'Changing', description: '', reward: 300 });
    expect(await balance(owner)).toBe(700);

    expect((await p.jobs.update(owner, job.id, { reward: 500 })).job).toMatchObject({ reward: 500, held: 500 });
    expect(await balance(owner)).toBe(500);
    expect((await p.jobs.update(owner, job.id, { reward: 100 })).job).toMatchObject({ reward: 100, held: 100 });
    expect(await balance(owner)).toBe(900);
    expect(await refusal(p.jobs.update(owner, job.id, { reward: 1_001 }))).toEqual({ status: 409, code: 'E_INSUFFICIENT_FUNDS' });
    expect(await p.jobs.find(job.id)).toMatchObject({ reward: 100, held: 100 });

    await p.jobs.update(owner, job.id, { assigneeId: assignee });
    await p.jobs.accept(assignee, job.id);
    const cancelled = await p.jobs.update(owner, job.id, { status: 'closed' });
    expect(cancelled.job).toMatchObject({ status: 'closed', held: 0, acceptedAt: null, assigneeId: assignee });
    expect(cancelled.moved).toEqual([owner]);
    expect(await balance(owner)).toBe(1_000);

    const reopened = await p.jobs.update(owner, job.id, { status: 'open' });
    expect(reopened.job).toMatchObject({ status: 'open', held: 100, acceptedAt: null });
    expect(await balance(owner)).toBe(900);
    expect(await newEntries(owner, ledger)).toEqual([
      { type: 'hold', amount: 300, jobId: job.id },
      { type: 'hold', amount: 200, jobId: job.id },
      { type: 'release', amount: 400, jobId: job.id },
      { type: 'release', amount: 100, jobId: job.id },
      { type: 'hold', amount: 100, jobId: job.id },
    ]);
  });

  it('refuses in the order of the rules and writes nothing when it does', async () => {
    const [owner, other] = [30, 31];
    await setBalance(owner, 50);
    const ledger = await p.inspect.ledger(owner);
    // No money, no job.
    expect(await refusal(p.jobs.create(owner, { title: 'Too dear', description: '', reward: 51 }))).toEqual({ status: 409, code: 'E_INSUFFICIENT_FUNDS' });
    expect((await p.jobs.listPage('open', 1, 50)).items.some((j) => j.title === 'Too dear')).toBe(false);
    expect(await balance(owner)).toBe(50);
    // A volunteer job moves nothing.
    const volunteer = await p.jobs.create(owner, { title: 'Volunteer', description: '', reward: 0 });
    expect(volunteer.moved).toEqual([]);
    expect(volunteer.job).toMatchObject({ reward: 0, held: 0 });
    const id = volunteer.job.id;

    expect(await refusal(p.jobs.update(owner, 100_000, { title: 'x' }))).toEqual({ status: 404, code: 'E_NOT_FOUND' });
    expect(await refusal(p.jobs.update(other, id, { title: 'x' }))).toEqual({ status: 403, code: 'E_FORBIDDEN' });
    expect(await refusal(p.jobs.update(owner, id, { assigneeId: owner }))).toEqual({ status: 400, code: 'E_BAD_REQUEST' });
    expect(await refusal(p.jobs.update(owner, id, { assigneeId: 100_000 }))).toEqual({ status: 400, code: 'E_BAD_REQUEST' });
    expect(await refusal(p.jobs.update(owner, id, { status: 'completed' }))).toEqual({ status: 400, code: 'E_BAD_REQUEST' });
    expect(await refusal(p.jobs.update(owner, id, { title: '   ' }))).toEqual({ status: 400, code: 'E_BAD_REQUEST' });
    expect(await refusal(p.jobs.accept(other, 100_000))).toEqual({ status: 404, code: 'E_NOT_FOUND' });
    expect(await refusal(p.jobs.accept(other, id))).toEqual({ status: 403, code: 'E_FORBIDDEN' });
    expect(await p.jobs.find(id)).toEqual(volunteer.job);

    // A completed volunteer job pays and scores nothing.
    await p.jobs.update(owner, id, { assigneeId: other, title: '  Volunteer, assigned  ' });
    await p.jobs.accept(other, id);
    const b = await balance(other);
    const done = await p.jobs.update(owner, id, { status: 'completed' });
    expect(done.job).toMatchObject({ title: 'Volunteer, assigned', status: 'completed', held: 0 });
    expect(done.moved).toEqual([]);
    expect(await balance(other)).toBe(b);
    expect(await newEntries(owner, ledger)).toEqual([]);
  });

  it('concurrent creates by one owner never hold more than the wallet had', async () => {
    const owner = 40;
    await setBalance(owner, 1_000);
    const settled = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => p.jobs.create(owner, { title: `Race ${i}`, description: '', reward: 300 })));
    const created = settled.filter((s) => s.status === 'fulfilled').length;
    for (const s of settled) {
      if (s.status === 'rejected') expect([409, 503]).toContain((s.reason as { statusCode?: number }).statusCode);
    }
    expect(created).toBeLessThanOrEqual(3);
    if (p.name === 'sql') expect(created).toBe(3); // no contention there: only funds refuse
    expect(await balance(owner)).toBe(1_000 - 300 * created);
    const open = (await p.jobs.listPage('open', 1, 50)).items.filter((j) => j.title.startsWith('Race '));
    expect(open).toHaveLength(created);
  }, 120_000);
});
