/**
 * The job board. `job:{id}` and `jobs:{status}:{page}` live 5 min; the pages of one status carry
 * its tag (CACHE_TAGS.jobList). A new job invalidates the open listing; an edit deletes that job
 * and invalidates the listings of its old and new status.
 *
 * Rewards are escrowed (the rules: jobs.rules.ts): creating a job holds its reward from the
 * owner's wallet, a cancel releases it, a completion pays it to the assignee and adds it to
 * their scores. Every money move happens in the data port's atomic operation that changes the
 * job (jobs.data.ts), so sum(balances) + sum(held) never changes. The wallet balances that
 * moved, the job, its listings and (on completion) the boards are deleted after it.
 */
import { CacheKeys } from '../../cache/index.ts';
import { CACHE_TAGS, CACHE_TTL, jobListReadOptions, PAGE_SIZE } from '../cache-policy.ts';
import type { AppDeps } from '../deps.ts';
import type { ReadResult } from '../http/cache-access.ts';
import { allLeaderboardKeys } from '../leaderboards/leaderboards.service.ts';
import type { Job, JobPatch, JobStatus } from './jobs.data.ts';
import { assertPatchNotEmpty, jobTitle } from './jobs.rules.ts';

export { JOB_STATUSES, type Job, type JobPatch, type JobStatus } from './jobs.data.ts';

export interface JobPage {
  items: Job[];
  status: JobStatus;
  page: number;
  pageSize: number;
  hasMore: boolean;
}

async function fetchPage(deps: AppDeps, status: JobStatus, page: number): Promise<JobPage> {
  const { items, hasMore } = await deps.data.jobs.listPage(status, page, PAGE_SIZE.jobs);
  return { items, status, page, pageSize: PAGE_SIZE.jobs, hasMore };
}

export async function listJobs(deps: AppDeps, status: JobStatus, page: number): Promise<ReadResult<JobPage>> {
  return deps.cacheAccess.read(CacheKeys.jobList(status, page), () => fetchPage(deps, status, page), jobListReadOptions(status));
}

export async function getJob(deps: AppDeps, id: number): Promise<ReadResult<Job>> {
  return deps.cacheAccess.readFound(CacheKeys.job(id), 'Job', () => deps.data.jobs.find(id), CACHE_TTL.job);
}

/** The cached balances of every wallet a write moved money in or out of. */
function walletKeys(userIds: readonly number[]): string[] {
  return userIds.map((u) => CacheKeys.walletBalance(u));
}

// After a write, its keys and its listings' tags are invalidated concurrently (Promise.all), so
// the write waits about one Redis round trip after its commit rather than one per call. Each
// call puts its own failure in the outbox.

export async function createJob(deps: AppDeps, ownerId: number, input: { title: string; description?: string; reward: number }): Promise<Job> {
  const title = jobTitle(input.title);
  const { job, moved } = await deps.data.jobs.create(ownerId, { title, description: input.description ?? '', reward: input.reward });
  // A new job is open: only the open listings moved. No job:{id} entry can exist yet.
  await Promise.all([deps.cacheAccess.invalidateTags(CACHE_TAGS.jobList('open')), deps.cacheAccess.invalidate(...walletKeys(moved))]);
  return job;
}

export async function updateJob(deps: AppDeps, actorId: number, id: number, patch: JobPatch): Promise<Job> {
  assertPatchNotEmpty(patch);
  const { before, job: after, moved } = await deps.data.jobs.update(actorId, id, patch);
  // After the write: the job, the listings it left and joined, the boards if scores moved,
  // the balances that moved.
  await Promise.all([
    deps.cacheAccess.invalidate(CacheKeys.job(id), ...(after.status === 'completed' ? allLeaderboardKeys() : []), ...walletKeys(moved)),
    deps.cacheAccess.invalidateTags(...new Set([before.status, after.status].map((s) => CACHE_TAGS.jobList(s)))),
  ]);
  return after;
}

/** The assignee accepts an open job (only they may; 403 for anyone else). Accepting twice is a no-op. */
export async function acceptJob(deps: AppDeps, actorId: number, id: number): Promise<Job> {
  const { job, changed } = await deps.data.jobs.accept(actorId, id);
  if (changed) {
    await Promise.all([deps.cacheAccess.invalidate(CacheKeys.job(id)), deps.cacheAccess.invalidateTags(CACHE_TAGS.jobList('open'))]);
  }
  return job;
}

export const WARM_JOB_PAGES = 5;

/** Warmer: the first pages of open jobs, read at once. */
export async function warmJobs(deps: AppDeps): Promise<number> {
  const pages = await deps.data.jobs.listFirstPages('open', WARM_JOB_PAGES, PAGE_SIZE.jobs);
  let loaded = 0;
  for (const [i, { items, hasMore }] of pages.entries()) {
    const page = i + 1;
    if (items.length === 0 && page > 1) break;
    const value: JobPage = { items, status: 'open', page, pageSize: PAGE_SIZE.jobs, hasMore };
    // Under the listing's tag, as listJobs reads it: an untagged page would outlive the next post.
    const r = await deps.cacheAccess.read(CacheKeys.jobList('open', page), async () => value, jobListReadOptions('open'));
    if (r.xCache === 'MISS') loaded++;
  }
  return loaded;
}
