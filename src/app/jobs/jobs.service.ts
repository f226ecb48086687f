/**
 * The job board. `job:{id}` and `jobs:{status}:{page}` live 5 min. A new job deletes the open
 * listings; an edit deletes that job and the listings of its old and new status.
 *
 * Rewards are escrowed, so a job can never pay out money nobody paid in:
 * - creating a job holds its reward from the owner's wallet (`hold` ledger row, job.held);
 *   too little money is 409 E_INSUFFICIENT_FUNDS and no job is created;
 * - changing the reward of an open job moves the difference between the owner's wallet and
 *   the hold (`hold` / `release`), until the assignee has accepted (then 409 E_JOB_ACCEPTED);
 * - the owner assigns (PATCH assigneeId), the assignee accepts (POST /jobs/:id/accept), and
 *   only then can the owner complete it (otherwise 409 E_JOB_NOT_ACCEPTED): completion pays
 *   the hold to the assignee (`reward`) and adds it to their scores;
 * - cancelling (status closed) returns the hold to the owner (`release`) and clears the
 *   acceptance; re-opening a closed job holds its reward again, like creating it.
 * Every money move happens in the transaction that changes the job, with the job row locked,
 * so sum(balances) + sum(held) never changes through this file. The wallet balances that
 * moved, the job, its listings and (on completion) the boards are deleted after the commit.
 */
import { CacheKeys, keySegment } from '../../cache/index.ts';
import { CACHE_TTL, PAGE_SIZE, READ_OPTIONS } from '../cache-policy.ts';
import type { DbTx } from '../db/database.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../http/errors.ts';
import { allLeaderboardKeys, recordReward } from '../leaderboards/leaderboards.service.ts';
import { applyLedger } from '../wallets/wallets.service.ts';
import * as q from './jobs.queries.ts';

export { JOB_STATUSES, type Job, type JobStatus } from './jobs.queries.ts';

export interface JobPage {
  items: q.Job[];
  status: q.JobStatus;
  page: number;
  pageSize: number;
  hasMore: boolean;
}

/** Every cached page of one status's listing. */
export function jobListPattern(status: q.JobStatus): string {
  return `jobs:${keySegment(status, 'status')}:*`;
}

async function fetchPage(deps: AppDeps, status: q.JobStatus, page: number): Promise<JobPage> {
  const rows = await q.listJobs(deps.db, status, PAGE_SIZE.jobs + 1, (page - 1) * PAGE_SIZE.jobs);
  return { items: rows.slice(0, PAGE_SIZE.jobs), status, page, pageSize: PAGE_SIZE.jobs, hasMore: rows.length > PAGE_SIZE.jobs };
}

export async function listJobs(deps: AppDeps, status: q.JobStatus, page: number): Promise<ReadResult<JobPage>> {
  return deps.cacheAccess.read(CacheKeys.jobList(status, page), () => fetchPage(deps, status, page), READ_OPTIONS.jobList);
}

export async function getJob(deps: AppDeps, id: number): Promise<ReadResult<q.Job>> {
  return deps.cacheAccess.readFound(CacheKeys.job(id), 'Job', () => q.findJob(deps.db, id), CACHE_TTL.job);
}

function nonBlank(value: string, field: string): string {
  const v = value.trim();
  if (v.length === 0) throw new BadRequestError(`${field} must not be blank`, field);
  return v;
}

/** After a commit: the cached balances of every wallet the write moved money in or out of. */
async function invalidateWallets(deps: AppDeps, userIds: ReadonlySet<number>): Promise<void> {
  await deps.cacheAccess.invalidate(...[...userIds].map((u) => CacheKeys.walletBalance(u)));
}

export async function createJob(deps: AppDeps, ownerId: number, input: { title: string; description?: string; reward: number }): Promise<q.Job> {
  const title = nonBlank(input.title, 'title');
  const job = await deps.db.transaction(async (tx) => {
    const created = await q.insertJob(tx, ownerId, title, input.description ?? '', input.reward);
    // The hold is taken in the same transaction: without the money, no job (the insert rolls back).
    if (created.held > 0) await applyLedger(tx, ownerId, 'hold', created.held, created.id);
    return created;
  });
  // A new job is open: only the open listings moved. No job:{id} entry can exist yet.
  await deps.cacheAccess.invalidatePattern(jobListPattern('open'));
  if (job.held > 0) await invalidateWallets(deps, new Set([ownerId]));
  return job;
}

export interface JobPatch {
  title?: string;
  description?: string;
  reward?: number;
  status?: q.JobStatus;
  assigneeId?: number | null;
}

/**
 * Moves money between the owner's wallet and the job so that it holds `target`: a `hold`
 * when it must hold more, a `release` when less. Returns the new hold.
 */
async function setHold(tx: DbTx, job: q.Job, target: number, moved: Set<number>): Promise<number> {
  const diff = target - job.held;
  if (diff > 0) await applyLedger(tx, job.ownerId, 'hold', diff, job.id);
  if (diff < 0) await applyLedger(tx, job.ownerId, 'release', -diff, job.id);
  if (diff !== 0) moved.add(job.ownerId);
  return target;
}

async function validAssignee(tx: DbTx, job: q.Job, assigneeId: number | null | undefined): Promise<void> {
  if (assigneeId === undefined || assigneeId === null) return;
  if (assigneeId === job.ownerId) throw new BadRequestError('The owner cannot be the assignee', 'assigneeId');
  if (!(await q.userExists(tx, assigneeId))) throw new BadRequestError(`User ${assigneeId} does not exist`, 'assigneeId');
}

export async function updateJob(deps: AppDeps, actorId: number, id: number, patch: JobPatch): Promise<q.Job> {
  if (Object.values(patch).every((v) => v === undefined)) {
    throw new BadRequestError('Give at least one of title, description, reward, status, assigneeId', 'body');
  }
  const moved = new Set<number>();
  const { before, after } = await deps.db.transaction(async (tx) => {
    const job = await q.lockJob(tx, id);
    if (job === undefined) throw new NotFoundError('Job');
    if (job.ownerId !== actorId) throw new ForbiddenError('Only the owner of a job can change it');
    if (job.status === 'completed') throw new ConflictError('E_JOB_COMPLETED', 'A completed job cannot be changed');
    await validAssignee(tx, job, patch.assigneeId);
    const reward = patch.reward ?? job.reward;
    const assigneeId = patch.assigneeId === undefined ? job.assigneeId : patch.assigneeId;
    const status = patch.status ?? job.status;
    if (patch.reward !== undefined && patch.reward !== job.reward && job.acceptedAt !== null) {
      throw new ConflictError('E_JOB_ACCEPTED', 'The assignee has accepted this job: its reward can no longer change');
    }
    // A new assignee has not accepted anything yet; a cancelled job starts over.
    let keepAcceptance = job.acceptedAt !== null && assigneeId === job.assigneeId && status !== 'closed';
    let held = job.held;
    if (status === 'closed') {
      held = await setHold(tx, job, 0, moved);
    } else if (status === 'open') {
      // Re-opening holds the whole reward again (a closed job holds 0); on an open job, giving a
      // reward (even the same one) brings the hold up to it, which is how a job from before
      // escrow gets funded.
      if (job.status === 'closed' || patch.reward !== undefined) held = await setHold(tx, job, reward, moved);
    } else {
      if (assigneeId === null) throw new BadRequestError('A job is completed by its assignee: set assigneeId', 'assigneeId');
      if (job.status !== 'open') throw new ConflictError('E_JOB_NOT_OPEN', 'Only an open job can be completed: re-open it first');
      if (!keepAcceptance) throw new ConflictError('E_JOB_NOT_ACCEPTED', 'The assignee has not accepted this job yet');
      // Pays what was held, never the advertised reward: a job nobody funded pays (and scores) nothing.
      if (job.held > 0) {
        await applyLedger(tx, assigneeId, 'reward', job.held, job.id);
        await recordReward(tx, assigneeId, job.held);
        moved.add(assigneeId);
      }
      held = 0;
      keepAcceptance = true;
    }
    const change: q.JobChange = {
      title: patch.title === undefined ? job.title : nonBlank(patch.title, 'title'),
      description: patch.description ?? job.description,
      reward,
      status,
      held,
      assigneeId,
      keepAcceptance,
    };
    return { before: job, after: await q.updateJob(tx, id, change) };
  });
  // After the commit: the job, the listings it left and joined, the boards if scores moved,
  // the balances that moved.
  const completed = after.status === 'completed';
  await deps.cacheAccess.invalidate(CacheKeys.job(id), ...(completed ? allLeaderboardKeys() : []));
  for (const status of new Set([before.status, after.status])) await deps.cacheAccess.invalidatePattern(jobListPattern(status));
  await invalidateWallets(deps, moved);
  return after;
}

/** The assignee accepts an open job (only they may; 403 for anyone else). Accepting twice is a no-op. */
export async function acceptJob(deps: AppDeps, actorId: number, id: number): Promise<q.Job> {
  const { job, changed } = await deps.db.transaction(async (tx) => {
    const found = await q.lockJob(tx, id);
    if (found === undefined) throw new NotFoundError('Job');
    if (found.assigneeId !== actorId) throw new ForbiddenError('Only the assignee of a job can accept it');
    if (found.status !== 'open') throw new ConflictError('E_JOB_NOT_OPEN', 'Only an open job can be accepted');
    if (found.acceptedAt !== null) return { job: found, changed: false };
    return { job: await q.acceptJob(tx, id), changed: true };
  });
  if (changed) {
    await deps.cacheAccess.invalidate(CacheKeys.job(id));
    await deps.cacheAccess.invalidatePattern(jobListPattern('open'));
  }
  return job;
}

export const WARM_JOB_PAGES = 5;

/** Warmer: the first pages of open jobs, from one query. */
export async function warmJobs(deps: AppDeps): Promise<number> {
  const rows = await q.listJobs(deps.db, 'open', PAGE_SIZE.jobs * WARM_JOB_PAGES + 1, 0);
  let loaded = 0;
  for (let page = 1; page <= WARM_JOB_PAGES; page++) {
    const start = (page - 1) * PAGE_SIZE.jobs;
    const slice = rows.slice(start, start + PAGE_SIZE.jobs + 1);
    if (slice.length === 0 && page > 1) break;
    const value: JobPage = { items: slice.slice(0, PAGE_SIZE.jobs), status: 'open', page, pageSize: PAGE_SIZE.jobs, hasMore: slice.length > PAGE_SIZE.jobs };
    const r = await deps.cacheAccess.read(CacheKeys.jobList('open', page), async () => value, CACHE_TTL.jobList);
    if (r.xCache === 'MISS') loaded++;
  }
  return loaded;
}
