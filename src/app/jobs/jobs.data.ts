/**
 * The port of the jobs domain (the job board and its escrow). Each write is ONE atomic
 * operation of the adapter: it reads the job, applies the plan of jobs.rules.ts (who may do
 * what, how much is held, released or paid) and writes the job, the wallets (ledger rows) and,
 * on completion, the leaderboard scores together. It returns what the service must invalidate.
 * The SQL adapter is jobs.sql.ts.
 */
import type { Page } from '../paging.ts';

export const JOB_STATUSES = ['open', 'closed', 'completed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface Job {
  id: number;
  ownerId: number;
  title: string;
  description: string;
  status: JobStatus;
  reward: number;
  /** What the owner's wallet paid into the job and a completion pays out (0 unless open). */
  held: number;
  assigneeId: number | null;
  /** When the assignee accepted; null until then (and again after a cancel or a new assignee). */
  acceptedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewJob {
  /** Already trimmed and non-blank (the service checks). */
  title: string;
  description: string;
  reward: number;
}

export interface JobPatch {
  title?: string;
  description?: string;
  reward?: number;
  status?: JobStatus;
  assigneeId?: number | null;
}

export interface JobWrite {
  /** The job after the write. */
  job: Job;
  /** User ids whose wallet balance changed (their cached balances are stale). */
  moved: number[];
}

export interface JobUpdate extends JobWrite {
  /** The job before the write (its old status's listings are stale too). */
  before: Job;
}

export interface JobsData {
  find(id: number): Promise<Job | undefined>;
  /** Page `page` (from 1) of the jobs of one status, newest first (createdAt, then id), `pageSize` per page. */
  listPage(status: JobStatus, page: number, pageSize: number): Promise<Page<Job>>;
  /** Pages 1..`pages` of that listing at once (for cache warming); past the end, pages are empty. */
  listFirstPages(status: JobStatus, pages: number, pageSize: number): Promise<Page<Job>[]>;
  /** Creates an open job holding its whole reward from the owner's wallet (`planJobCreate`): no money, no job. */
  create(ownerId: number, input: NewJob): Promise<JobWrite>;
  /**
   * The owner's change of a job: `authorizeJobUpdate`, then (if it names one) the assignee must
   * exist, then `planJobUpdate`; the plan's ledger moves, score additions and job change are
   * applied together.
   */
  update(actorId: number, id: number, patch: JobPatch): Promise<JobUpdate>;
  /** The assignee's acceptance (`planJobAccept`); `changed` is false when it had already accepted. */
  accept(actorId: number, id: number): Promise<{ job: Job; changed: boolean }>;
}
