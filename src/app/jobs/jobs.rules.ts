/**
 * The escrow rules of the job board, as pure functions every adapter of jobs.data.ts applies
 * inside its own transaction (BEGIN ... COMMIT with the job row locked; a Firestore
 * `runTransaction`), so a job can never pay out money nobody paid in:
 * - creating a job holds its reward from the owner's wallet (`hold`); too little money is
 *   409 E_INSUFFICIENT_FUNDS (wallets.rules.ts) and no job is created;
 * - changing the reward of an open job moves the difference between the owner's wallet and
 *   the hold (`hold` / `release`), until the assignee has accepted (then 409 E_JOB_ACCEPTED);
 * - the owner assigns (assigneeId), the assignee accepts, and only then can the owner complete
 *   it (otherwise 409 E_JOB_NOT_ACCEPTED): completion pays the hold to the assignee (`reward`)
 *   and adds it to their scores (leaderboards.rules.ts);
 * - cancelling (status closed) returns the hold to the owner (`release`) and clears the
 *   acceptance; re-opening a closed job holds its reward again, like creating it.
 * sum(balances) + sum(held) never changes through these plans.
 */
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../http/errors.ts';
import type { LedgerMove } from '../wallets/wallets.rules.ts';
import type { Job, JobPatch, JobStatus, NewJob } from './jobs.data.ts';

/** The job's fields after a write (the adapter also sets updatedAt, and acceptedAt per `acceptance`). */
export interface JobChange {
  title: string;
  description: string;
  reward: number;
  status: JobStatus;
  held: number;
  assigneeId: number | null;
  /** Keep the current acceptance (true) or clear it (false). */
  keepAcceptance: boolean;
}

export interface JobCreatePlan {
  /** The new job's fields: open, holding its whole reward. */
  job: { ownerId: number; title: string; description: string; reward: number; held: number; status: 'open' };
  /** The hold from the owner's wallet (empty for a volunteer job), written with the new job's id. */
  ledger: LedgerMove[];
}

export interface JobUpdatePlan {
  change: JobChange;
  /** Balance changes in order (each with a ledger row tied to the job); apply them with planLedger / applyLedgerSql. */
  ledger: LedgerMove[];
  /** A completion's reward for the assignee's scores on every board (`scoreAfterReward`); undefined when nothing scores. */
  score: { userId: number; amount: number } | undefined;
}

export function planJobCreate(ownerId: number, input: NewJob): JobCreatePlan {
  const held = input.reward;
  return {
    job: { ownerId, title: input.title, description: input.description, reward: input.reward, held, status: 'open' },
    ledger: held > 0 ? [{ userId: ownerId, type: 'hold', amount: held }] : [],
  };
}

function nonBlank(value: string, field: string): string {
  const v = value.trim();
  if (v.length === 0) throw new BadRequestError(`${field} must not be blank`, field);
  return v;
}

/** A job's title as stored: trimmed, never blank (400). */
export function jobTitle(title: string): string {
  return nonBlank(title, 'title');
}

/** A patch must change something (400 otherwise); checked before any read. */
export function assertPatchNotEmpty(patch: JobPatch): void {
  if (Object.values(patch).every((v) => v === undefined)) {
    throw new BadRequestError('Give at least one of title, description, reward, status, assigneeId', 'body');
  }
}

/**
 * First step of an update, on the job as read in the transaction: 404, 403 unless the owner,
 * 409 on a completed job, 400 when the owner names themselves as assignee. The adapter then
 * confirms that `assigneeToCheck(patch)` exists (`unknownAssignee` otherwise).
 */
export function authorizeJobUpdate(job: Job | undefined, actorId: number, patch: JobPatch): asserts job is Job {
  if (job === undefined) throw new NotFoundError('Job');
  if (job.ownerId !== actorId) throw new ForbiddenError('Only the owner of a job can change it');
  if (job.status === 'completed') throw new ConflictError('E_JOB_COMPLETED', 'A completed job cannot be changed');
  if (patch.assigneeId !== undefined && patch.assigneeId !== null && patch.assigneeId === job.ownerId) {
    throw new BadRequestError('The owner cannot be the assignee', 'assigneeId');
  }
}

/** The assignee the patch names, whose existence the adapter checks after `authorizeJobUpdate`. */
export function assigneeToCheck(patch: JobPatch): number | undefined {
  return patch.assigneeId === undefined || patch.assigneeId === null ? undefined : patch.assigneeId;
}

export function unknownAssignee(assigneeId: number): BadRequestError {
  return new BadRequestError(`User ${assigneeId} does not exist`, 'assigneeId');
}

/** The ledger move that makes the job hold `target` (a `hold` from, or `release` to, the owner), if any. */
function holdMove(job: Job, target: number): LedgerMove[] {
  const diff = target - job.held;
  if (diff > 0) return [{ userId: job.ownerId, type: 'hold', amount: diff }];
  if (diff < 0) return [{ userId: job.ownerId, type: 'release', amount: -diff }];
  return [];
}

/**
 * The second step (after `authorizeJobUpdate` and the assignee check): what the update
 * writes. Throws the domain's 400/409 refusals; the wallet refusals (insufficient funds)
 * come from applying `ledger`.
 */
export function planJobUpdate(job: Job, patch: JobPatch): JobUpdatePlan {
  const reward = patch.reward ?? job.reward;
  const assigneeId = patch.assigneeId === undefined ? job.assigneeId : patch.assigneeId;
  const status = patch.status ?? job.status;
  if (patch.reward !== undefined && patch.reward !== job.reward && job.acceptedAt !== null) {
    throw new ConflictError('E_JOB_ACCEPTED', 'The assignee has accepted this job: its reward can no longer change');
  }
  // A new assignee has not accepted anything yet; a cancelled job starts over.
  let keepAcceptance = job.acceptedAt !== null && assigneeId === job.assigneeId && status !== 'closed';
  let held = job.held;
  let ledger: LedgerMove[] = [];
  let score: JobUpdatePlan['score'];
  if (status === 'closed') {
    ledger = holdMove(job, 0);
    held = 0;
  } else if (status === 'open') {
    // Re-opening holds the whole reward again (a closed job holds 0); on an open job, giving a
    // reward (even the same one) brings the hold up to it, which is how a job from before
    // escrow gets funded.
    if (job.status === 'closed' || patch.reward !== undefined) {
      ledger = holdMove(job, reward);
      held = reward;
    }
  } else {
    if (assigneeId === null) throw new BadRequestError('A job is completed by its assignee: set assigneeId', 'assigneeId');
    if (job.status !== 'open') throw new ConflictError('E_JOB_NOT_OPEN', 'Only an open job can be completed: re-open it first');
    if (!keepAcceptance) throw new ConflictError('E_JOB_NOT_ACCEPTED', 'The assignee has not accepted this job yet');
    // Pays what was held, never the advertised reward: a job nobody funded pays (and scores) nothing.
    if (job.held > 0) {
      ledger = [{ userId: assigneeId, type: 'reward', amount: job.held }];
      score = { userId: assigneeId, amount: job.held };
    }
    held = 0;
    keepAcceptance = true;
  }
  const change: JobChange = {
    title: patch.title === undefined ? job.title : jobTitle(patch.title),
    description: patch.description ?? job.description,
    reward,
    status,
    held,
    assigneeId,
    keepAcceptance,
  };
  return { change, ledger, score };
}

/**
 * The assignee accepts an open job: 404, 403 for anyone else, 409 unless open. `accept` is
 * false when they already have (a no-op: nothing to write or invalidate); when true the adapter
 * sets acceptedAt (and updatedAt) to now.
 */
export function planJobAccept(job: Job | undefined, actorId: number): { job: Job; accept: boolean } {
  if (job === undefined) throw new NotFoundError('Job');
  if (job.assigneeId !== actorId) throw new ForbiddenError('Only the assignee of a job can accept it');
  if (job.status !== 'open') throw new ConflictError('E_JOB_NOT_OPEN', 'Only an open job can be accepted');
  return { job, accept: job.acceptedAt === null };
}

/** User ids whose balance the moves change, each once. */
export function movedWallets(ledger: readonly LedgerMove[]): number[] {
  return [...new Set(ledger.map((m) => m.userId))];
}
