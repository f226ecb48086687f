/**
 * The job board. `job:{id}` and `jobs:{status}:{page}` live 5 min. A new job deletes the open
 * listings; an edit deletes that job and the listings of its old and new status; completing a
 * job (status → completed, with an assignee) adds the reward to the assignee's scores in the
 * same transaction and deletes the leaderboards.
 */
import { CacheKeys, keySegment } from '../../cache/index.ts';
import { CACHE_TTL, PAGE_SIZE, READ_OPTIONS } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../http/errors.ts';
import { allLeaderboardKeys, recordReward } from '../leaderboards/leaderboards.service.ts';
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

export async function createJob(deps: AppDeps, ownerId: number, input: { title: string; description?: string; reward: number }): Promise<q.Job> {
  const job = await q.insertJob(deps.db, ownerId, nonBlank(input.title, 'title'), input.description ?? '', input.reward);
  // A new job is open: only the open listings moved. No job:{id} entry can exist yet.
  await deps.cacheAccess.invalidatePattern(jobListPattern('open'));
  return job;
}

export interface JobPatch {
  title?: string;
  description?: string;
  reward?: number;
  status?: q.JobStatus;
  assigneeId?: number | null;
}

export async function updateJob(deps: AppDeps, actorId: number, id: number, patch: JobPatch): Promise<q.Job> {
  if (Object.values(patch).every((v) => v === undefined)) {
    throw new BadRequestError('Give at least one of title, description, reward, status, assigneeId', 'body');
  }
  const { before, after } = await deps.db.transaction(async (tx) => {
    const job = await q.lockJob(tx, id);
    if (job === undefined) throw new NotFoundError('Job');
    if (job.ownerId !== actorId) throw new ForbiddenError('Only the owner of a job can change it');
    if (job.status === 'completed') throw new ConflictError('E_JOB_COMPLETED', 'A completed job cannot be changed');
    const change: q.JobChange = {
      title: patch.title === undefined ? job.title : nonBlank(patch.title, 'title'),
      description: patch.description ?? job.description,
      reward: patch.reward ?? job.reward,
      status: patch.status ?? job.status,
      assigneeId: patch.assigneeId === undefined ? job.assigneeId : patch.assigneeId,
    };
    if (patch.assigneeId !== undefined && patch.assigneeId !== null) {
      if (patch.assigneeId === job.ownerId) throw new BadRequestError('The owner cannot be the assignee', 'assigneeId');
      if (!(await q.userExists(tx, patch.assigneeId))) throw new BadRequestError(`User ${patch.assigneeId} does not exist`, 'assigneeId');
    }
    if (change.status === 'completed') {
      if (change.assigneeId === null) throw new BadRequestError('A job is completed by its assignee: set assigneeId', 'assigneeId');
      await recordReward(tx, change.assigneeId, change.reward);
    }
    return { before: job, after: await q.updateJob(tx, id, change) };
  });
  // After the commit: the job, the listings it left and joined, the boards if scores moved.
  const completed = after.status === 'completed';
  await deps.cacheAccess.invalidate(CacheKeys.job(id), ...(completed ? allLeaderboardKeys() : []));
  for (const status of new Set([before.status, after.status])) await deps.cacheAccess.invalidatePattern(jobListPattern(status));
  return after;
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
