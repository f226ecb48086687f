/**
 * The escrow rules as pure functions (jobs.rules.ts, wallets.rules.ts, leaderboards.rules.ts):
 * what every adapter of the jobs port must apply in its transaction. No database here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_BALANCE, MAX_SCORE } from '../../../src/app/bounds.ts';
import { HttpError } from '../../../src/app/http/errors.ts';
import type { Job, JobPatch } from '../../../src/app/jobs/jobs.data.ts';
import { authorizeJobUpdate, planJobAccept, planJobCreate, planJobUpdate } from '../../../src/app/jobs/jobs.rules.ts';
import { clampScore, scoreAfterReward } from '../../../src/app/leaderboards/leaderboards.rules.ts';
import { LEDGER_SIGN, planLedger } from '../../../src/app/wallets/wallets.rules.ts';

const OWNER = 1;
const ASSIGNEE = 2;

function job(over: Partial<Job> = {}): Job {
  return {
    id: 7,
    ownerId: OWNER,
    title: 'Fix the roof',
    description: '',
    status: 'open',
    reward: 100,
    held: 100,
    assigneeId: null,
    acceptedAt: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof HttpError) return `${err.statusCode} ${err.code}`;
    throw err;
  }
}

const accepted = { assigneeId: ASSIGNEE, acceptedAt: '2026-01-02T00:00:00.000Z' };

describe('jobs rules', () => {
  it('creating holds the whole reward from the owner; a volunteer job holds nothing', () => {
    expect(planJobCreate(OWNER, { title: 't', description: '', reward: 50 })).toMatchObject({ job: { held: 50, status: 'open' }, ledger: [{ userId: OWNER, type: 'hold', amount: 50 }] });
    expect(planJobCreate(OWNER, { title: 't', description: '', reward: 0 }).ledger).toEqual([]);
  });

  it('authorizes in order: 404, 403 for a non-owner, 409 on a completed job, 400 for the owner as assignee', () => {
    expect(code(() => authorizeJobUpdate(undefined, OWNER, {}))).toBe('404 E_NOT_FOUND');
    expect(code(() => authorizeJobUpdate(job(), 99, { assigneeId: OWNER }))).toBe('403 E_FORBIDDEN');
    expect(code(() => authorizeJobUpdate(job({ status: 'completed' }), OWNER, { assigneeId: OWNER }))).toBe('409 E_JOB_COMPLETED');
    expect(code(() => authorizeJobUpdate(job(), OWNER, { assigneeId: OWNER }))).toBe('400 E_BAD_REQUEST');
    expect(code(() => authorizeJobUpdate(job(), OWNER, { assigneeId: ASSIGNEE }))).toBeUndefined();
  });

  it('a reward change moves the difference between the owner and the hold', () => {
    expect(planJobUpdate(job(), { reward: 150 }).ledger).toEqual([{ userId: OWNER, type: 'hold', amount: 50 }]);
    expect(planJobUpdate(job(), { reward: 40 }).ledger).toEqual([{ userId: OWNER, type: 'release', amount: 60 }]);
    expect(planJobUpdate(job(), { reward: 100 }).ledger).toEqual([]);
  });

  it('after acceptance the reward is frozen (409 E_JOB_ACCEPTED)', () => {
    expect(code(() => planJobUpdate(job(accepted), { reward: 150 }))).toBe('409 E_JOB_ACCEPTED');
  });

  it('cancelling releases the hold and clears the acceptance; re-opening holds the reward again', () => {
    const cancel = planJobUpdate(job(accepted), { status: 'closed' });
    expect(cancel.ledger).toEqual([{ userId: OWNER, type: 'release', amount: 100 }]);
    expect(cancel.change).toMatchObject({ held: 0, keepAcceptance: false });
    const reopen = planJobUpdate(job({ status: 'closed', held: 0 }), { status: 'open' });
    expect(reopen.ledger).toEqual([{ userId: OWNER, type: 'hold', amount: 100 }]);
    expect(reopen.change.held).toBe(100);
  });

  it('completion pays the hold (not the advertised reward) to the accepted assignee and scores it', () => {
    const plan = planJobUpdate(job({ ...accepted, reward: 500, held: 100 }), { status: 'completed' });
    expect(plan.ledger).toEqual([{ userId: ASSIGNEE, type: 'reward', amount: 100 }]);
    expect(plan.score).toEqual({ userId: ASSIGNEE, amount: 100 });
    expect(plan.change).toMatchObject({ status: 'completed', held: 0, keepAcceptance: true });
    expect(planJobUpdate(job({ ...accepted, held: 0 }), { status: 'completed' })).toMatchObject({ ledger: [], score: undefined });
  });

  it('completion needs an assignee (400), an open job (409) and an acceptance (409)', () => {
    expect(code(() => planJobUpdate(job(), { status: 'completed' }))).toBe('400 E_BAD_REQUEST');
    expect(code(() => planJobUpdate(job({ ...accepted, status: 'closed', held: 0 }), { status: 'completed' }))).toBe('409 E_JOB_NOT_OPEN');
    expect(code(() => planJobUpdate(job({ assigneeId: ASSIGNEE }), { status: 'completed' }))).toBe('409 E_JOB_NOT_ACCEPTED');
    // A new assignee in the same patch has accepted nothing.
    expect(code(() => planJobUpdate(job(accepted), { status: 'completed', assigneeId: 3 }))).toBe('409 E_JOB_NOT_ACCEPTED');
  });

  it('a blank title is refused; titles are trimmed', () => {
    expect(code(() => planJobUpdate(job(), { title: '   ' }))).toBe('400 E_BAD_REQUEST');
    expect(planJobUpdate(job(), { title: '  New  ' }).change.title).toBe('New');
  });

  it('accepting: only the assignee, only an open job; twice is a no-op', () => {
    expect(code(() => planJobAccept(undefined, ASSIGNEE))).toBe('404 E_NOT_FOUND');
    expect(code(() => planJobAccept(job({ assigneeId: ASSIGNEE }), 99))).toBe('403 E_FORBIDDEN');
    expect(code(() => planJobAccept(job({ assigneeId: ASSIGNEE, status: 'closed' }), ASSIGNEE))).toBe('409 E_JOB_NOT_OPEN');
    expect(planJobAccept(job({ assigneeId: ASSIGNEE }), ASSIGNEE).accept).toBe(true);
    expect(planJobAccept(job(accepted), ASSIGNEE).accept).toBe(false);
  });

  it('no plan creates or destroys money: the ledger moves equal the change in held, plus what is paid out', () => {
    const statusArb = fc.constantFrom('open' as const, 'closed' as const);
    fc.assert(
      fc.property(
        statusArb,
        fc.nat({ max: 1000 }),
        fc.boolean(),
        fc.record({ reward: fc.option(fc.nat({ max: 1000 }), { nil: undefined }), status: fc.option(fc.constantFrom('open' as const, 'closed' as const, 'completed' as const), { nil: undefined }) }),
        (status, reward, isAccepted, patch: JobPatch) => {
          const before = job({ status, reward, held: status === 'open' ? reward : 0, ...(isAccepted ? accepted : { assigneeId: ASSIGNEE }) });
          let plan;
          try {
            plan = planJobUpdate(before, patch);
          } catch (err) {
            if (err instanceof HttpError) return;
            throw err;
          }
          // Owner's wallet + held is constant; the assignee gains exactly what leaves the job.
          const ownerDelta = plan.ledger.filter((m) => m.userId === OWNER).reduce((s, m) => s + LEDGER_SIGN[m.type] * m.amount, 0);
          const paid = plan.ledger.filter((m) => m.type === 'reward').reduce((s, m) => s + m.amount, 0);
          expect(ownerDelta + (plan.change.held - before.held) + paid).toBe(0);
        },
      ),
    );
  });
});

describe('wallet and score rules', () => {
  it('a balance stays within [0, MAX_BALANCE]', () => {
    expect(planLedger(100, { userId: 1, type: 'debit', amount: 30 })).toBe(70);
    expect(code(() => planLedger(undefined, { userId: 1, type: 'debit', amount: 1 }))).toBe('404 E_NOT_FOUND');
    expect(code(() => planLedger(10, { userId: 1, type: 'hold', amount: 11 }))).toBe('409 E_INSUFFICIENT_FUNDS');
    expect(code(() => planLedger(MAX_BALANCE, { userId: 1, type: 'reward', amount: 1 }))).toBe('409 E_BALANCE_LIMIT');
  });

  it('scores saturate at MAX_SCORE and read clamped', () => {
    expect(scoreAfterReward(undefined, 5)).toBe(5);
    expect(scoreAfterReward(MAX_SCORE - 1, 10)).toBe(MAX_SCORE);
    expect(clampScore(-3)).toBe(0);
    expect(clampScore(MAX_SCORE + 1)).toBe(MAX_SCORE);
  });
});
