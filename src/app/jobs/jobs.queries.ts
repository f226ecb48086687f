/** SQL of the jobs domain. */
import type { DbTx } from '../db/database.ts';

const Q = { domain: 'jobs' } as const;

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
export async function listJobs(db: DbTx, status: JobStatus, limit: number, offset: number): Promise<Job[]> {
  const { rows } = await db.query<JobRow>(
    `SELECT ${COLUMNS} FROM jobs WHERE status = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
    [status, limit, offset],
    Q,
  );
  return rows.map(toJob);
}

export async function findJob(db: DbTx, id: number): Promise<Job | undefined> {
  const { rows } = await db.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1`, [id], Q);
  const row = rows[0];
  return row === undefined ? undefined : toJob(row);
}

/** The job, locked until the end of the transaction. */
export async function lockJob(tx: DbTx, id: number): Promise<Job | undefined> {
  const { rows } = await tx.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE`, [id], Q);
  const row = rows[0];
  return row === undefined ? undefined : toJob(row);
}

/** A new open job holding its whole reward (the caller debits the owner in the same transaction). */
export async function insertJob(db: DbTx, ownerId: number, title: string, description: string, reward: number): Promise<Job> {
  const { rows } = await db.query<JobRow>(
    `INSERT INTO jobs (owner_id, title, description, reward, held) VALUES ($1, $2, $3, $4, $4) RETURNING ${COLUMNS}`,
    [ownerId, title, description, reward],
    Q,
  );
  const row = rows[0];
  if (row === undefined) throw new Error('INSERT ... RETURNING returned no row');
  return toJob(row);
}

export interface JobChange {
  title: string;
  description: string;
  reward: number;
  status: JobStatus;
  held: number;
  assigneeId: number | null;
  /** Keep the acceptance (true) or clear it (false); set only by acceptJob. */
  keepAcceptance: boolean;
}

export async function updateJob(tx: DbTx, id: number, c: JobChange): Promise<Job> {
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
export async function acceptJob(tx: DbTx, id: number): Promise<Job> {
  const { rows } = await tx.query<JobRow>(`UPDATE jobs SET accepted_at = now(), updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id], Q);
  const row = rows[0];
  if (row === undefined) throw new Error(`job ${id} vanished while locked`);
  return toJob(row);
}

export async function userExists(db: DbTx, id: number): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>('SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AS found', [id], Q);
  return rows[0]?.found === true;
}
