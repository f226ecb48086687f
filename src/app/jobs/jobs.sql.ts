/**
 * The PostgreSQL/PGlite adapter of the jobs port (jobs.data.ts). Every write is one database
 * transaction with the job row locked (FOR UPDATE): it applies the plan of jobs.rules.ts, and
 * the plan's wallet moves and score additions go through the wallets and leaderboards SQL
 * helpers on the same transaction, so a completion pays and scores in one commit.
 */
import type { Database, DbTx } from '../db/database.ts';
import { recordRewardSql } from '../leaderboards/leaderboards.sql.ts';
import { toPage } from '../paging.ts';
import { applyLedgerSql } from '../wallets/wallets.sql.ts';
import type { LedgerMove } from '../wallets/wallets.rules.ts';
import type { Job, JobsData, JobStatus } from './jobs.data.ts';
import { assigneeToCheck, authorizeJobUpdate, movedWallets, planJobAccept, planJobCreate, planJobUpdate, unknownAssignee, type JobChange } from './jobs.rules.ts';

const Q = { domain: 'jobs' } as const;

interface JobRow {
  id: number;
  owner_id: number;
  title: string;
  description: string;
  status: JobStatus;
  reward: number;
  held: number;
  assignee_id: number | null;
  accepted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, owner_id, title, description, status, reward, held, assignee_id, accepted_at, created_at, updated_at';

const toJob = (r: JobRow): Job => ({
  id: r.id,
  ownerId: r.owner_id,
  title: r.title,
  description: r.description,
  status: r.status,
  reward: r.reward,
  held: r.held,
  assigneeId: r.assignee_id,
  acceptedAt: r.accepted_at === null ? null : r.accepted_at.toISOString(),
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

/** Newest first; `limit` rows from `offset` (the caller asks one more to know if a page follows). */
async function listJobs(db: DbTx, status: JobStatus, limit: number, offset: number): Promise<Job[]> {
  const { rows } = await db.query<JobRow>(
    `SELECT ${COLUMNS} FROM jobs WHERE status = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
    [status, limit, offset],
    Q,
  );
  return rows.map(toJob);
}

async function findJob(db: DbTx, id: number): Promise<Job | undefined> {
  const { rows } = await db.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [id], Q);
  const row = rows[0];
  return row === undefined ? undefined : toJob(row);
}

/** The job, locked until the end of the transaction. */
async function lockJob(tx: DbTx, id: number): Promise<Job | undefined> {
  const { rows } = await tx.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE`, [id], Q);
  const row = rows[0];
  return row === undefined ? undefined : toJob(row);
}

/** A new open job (the caller takes the hold from the owner in the same transaction). */
async function insertJob(db: DbTx, ownerId: number, title: string, description: string, reward: number, held: number): Promise<Job> {
  const { rows } = await db.query<JobRow>(
    `INSERT INTO jobs (owner_id, title, description, reward, held) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [ownerId, title, description, reward, held],
    Q,
  );
  const row = rows[0];
  if (row === undefined) throw new Error('INSERT ... RETURNING returned no row');
  return toJob(row);
}

async function updateJob(tx: DbTx, id: number, c: JobChange): Promise<Job> {
  const { rows } = await tx.query<JobRow>(
    `UPDATE jobs SET title = $2, description = $3, reward = $4, status = $5, held = $6, assignee_id = $7,
            accepted_at = CASE WHEN $8::boolean THEN accepted_at END, updated_at = now()
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, c.title, c.description, c.reward, c.status, c.held, c.assigneeId, c.keepAcceptance],
    Q,
  );
  const row = rows[0];
  if (row === undefined) throw new Error(`job ${id} vanished while locked`);
  return toJob(row);
}

/** Records the assignee's acceptance (the caller has checked who and when). */
async function acceptJob(tx: DbTx, id: number): Promise<Job> {
  const { rows } = await tx.query<JobRow>(`UPDATE jobs SET accepted_at = now(), updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id], Q);
  const row = rows[0];
  if (row === undefined) throw new Error(`job ${id} vanished while locked`);
  return toJob(row);
}

async function userExists(db: DbTx, id: number): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AS found', [id], Q);
  return rows[0]?.found === true;
}

async function applyLedger(tx: DbTx, moves: readonly LedgerMove[], jobId: number): Promise<void> {
  for (const move of moves) await applyLedgerSql(tx, move, jobId);
}

export function createSqlJobsData(db: Database): JobsData {
  return {
    find: (id) => findJob(db, id),
    listPage: async (status, page, pageSize) => toPage(await listJobs(db, status, pageSize + 1, (page - 1) * pageSize), pageSize),
    async listFirstPages(status, pages, pageSize) {
      // One query for all of them.
      const rows = await listJobs(db, status, pageSize * pages + 1, 0);
      return Array.from({ length: pages }, (_, i) => toPage(rows.slice(i * pageSize, (i + 1) * pageSize + 1), pageSize));
    },
    create: (ownerId, input) =>
      db.transaction(async (tx) => {
        const plan = planJobCreate(ownerId, input);
        const job = await insertJob(tx, plan.job.ownerId, plan.job.title, plan.job.description, plan.job.reward, plan.job.held);
        // The hold is taken in the same transaction: without the money, no job (the insert rolls back).
        await applyLedger(tx, plan.ledger, job.id);
        return { job, moved: movedWallets(plan.ledger) };
      }),
    update: (actorId, id, patch) =>
      db.transaction(async (tx) => {
        const before = await lockJob(tx, id);
        authorizeJobUpdate(before, actorId, patch);
        const assignee = assigneeToCheck(patch);
        if (assignee !== undefined && !(await userExists(tx, assignee))) throw unknownAssignee(assignee);
        const plan = planJobUpdate(before, patch);
        await applyLedger(tx, plan.ledger, id);
        if (plan.score !== undefined) await recordRewardSql(tx, plan.score.userId, plan.score.amount);
        const job = await updateJob(tx, id, plan.change);
        return { before, job, moved: movedWallets(plan.ledger) };
      }),
    accept: (actorId, id) =>
      db.transaction(async (tx) => {
        const { job, accept } = planJobAccept(await lockJob(tx, id), actorId);
        return accept ? { job: await acceptJob(tx, id), changed: true } : { job, changed: false };
      }),
  };
}
