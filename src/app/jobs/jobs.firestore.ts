/**
 * The Firestore adapter of the jobs port (jobs.data.ts), on `jobs/{id}` (docs/firestore.md).
 *
 * Every write is ONE transaction (`runTransaction`, all reads before the first write): it reads
 * the job, applies the plan of jobs.rules.ts exactly as the SQL adapter does and in the same
 * order (authorizeJobUpdate, the assignee's existence, planJobUpdate, then planLedger on each
 * move), reads the wallets the plan moves and, on completion, the assignee's user document and
 * both score documents; then writes the job, each moved wallet's balance, one ledger entry per
 * move (ids reserved BEFORE the transaction: a retried attempt rewrites the same entry ids, and
 * `create` makes a doubled entry impossible) and the scores (`scoreAfterReward`, the user's
 * displayName copied into the score documents as the model says). So a refusal anywhere writes
 * nothing, and sum(balances) + sum(held) only moves as the plans say. A new job's id comes from
 * `counters/jobs`, reserved before its transaction too. Contention past the client's retries is
 * 503 E_CONTENTION (contention.ts).
 *
 * The board is paged by cursor, never `offset()` (which bills every skipped document): page N
 * walks to the cursor of page N-1 with one query that selects only the ordering fields
 * (createdAt, id), then reads pageSize + 1 jobs after it. Page N therefore bills
 * (N-1) × pageSize + pageSize + 1 reads; pages are bounded by MAX_PAGE and cached by the
 * service (jobs:{status}:{N}), so a deep page is read rarely. The same (createdAt desc, id
 * desc) order as SQL, on the composite index jobs (status, createdAt desc, id desc).
 */
import { Timestamp, type QueryDocumentSnapshot } from '@google-cloud/firestore';
import type { BilledTransaction } from '../db/firestore/bill.ts';
import { runTx } from '../db/firestore/contention.ts';
import type { FirestoreContext } from '../db/firestore/context.ts';
import { queries, toIso, type JobCursor, type JobDoc, type ScoreDoc } from '../db/firestore/model.ts';
import { LEADERBOARD_TYPES, scoreAfterReward } from '../leaderboards/leaderboards.rules.ts';
import { toPage, type Page } from '../paging.ts';
import { isDocId, planLedgerMoves, readWallets, withLedgerIds, writeLedger } from '../wallets/wallets.firestore.ts';
import type { Job, JobsData, JobStatus } from './jobs.data.ts';
import { assigneeToCheck, authorizeJobUpdate, movedWallets, planJobAccept, planJobCreate, planJobUpdate, unknownAssignee, type JobChange } from './jobs.rules.ts';

const DOMAIN = 'jobs';

/** Ledger entries one plan of jobs.rules.ts writes at most (withLedgerIds reserves more if a plan ever needs them). */
const MOVES_PER_PLAN = 1;

function toJob(d: JobDoc): Job {
  return {
    id: d.id,
    ownerId: d.ownerId,
    title: d.title,
    description: d.description,
    status: d.status,
    reward: d.reward,
    held: d.held,
    assigneeId: d.assigneeId,
    acceptedAt: d.acceptedAt === null ? null : toIso(d.acceptedAt),
    createdAt: toIso(d.createdAt),
    updatedAt: toIso(d.updatedAt),
  };
}

/** The job document after `change` (the SQL adapter's UPDATE). */
function changedDoc(before: JobDoc, c: JobChange, now: Timestamp): JobDoc {
  return {
    ...before,
    title: c.title,
    description: c.description,
    reward: c.reward,
    status: c.status,
    held: c.held,
    assigneeId: c.assigneeId,
    acceptedAt: c.keepAcceptance ? before.acceptedAt : null,
    updatedAt: now,
  };
}

async function readJob(tx: BilledTransaction, ctx: FirestoreContext, id: number): Promise<JobDoc | undefined> {
  if (!isDocId(id)) return undefined;
  return (await tx.get(ctx.refs.job(id))).data();
}

/**
 * The cursor of the job that ends the first `skip` jobs of the listing (undefined when skip is 0),
 * or null when the listing has fewer than `skip` jobs. Reads only the ordering fields, but each
 * skipped job is a billed read.
 */
async function cursorAfter(ctx: FirestoreContext, status: JobStatus, skip: number): Promise<JobCursor | undefined | null> {
  if (skip === 0) return undefined;
  const snap = await ctx.bill.query(DOMAIN, queries.jobBoard(ctx.firestore, status, skip).select('createdAt', 'id'));
  if (snap.size < skip) return null;
  const last = snap.docs[snap.size - 1] as QueryDocumentSnapshot;
  return { createdAt: last.get('createdAt') as Timestamp, id: last.get('id') as number };
}

/** `limit` jobs of the listing after the first `skip` (newest first). */
async function listJobs(ctx: FirestoreContext, status: JobStatus, limit: number, skip: number): Promise<Job[]> {
  const after = await cursorAfter(ctx, status, skip);
  if (after === null) return [];
  const snap = await ctx.bill.query(DOMAIN, queries.jobBoard(ctx.firestore, status, limit, after));
  return snap.docs.map((d) => toJob(d.data()));
}

/** Reads what a completion writes besides the money: the assignee's name and both score documents. */
async function readScores(tx: BilledTransaction, ctx: FirestoreContext, userId: number): Promise<{ displayName: string; scores: Array<ScoreDoc | undefined> }> {
  const [user, ...scores] = await Promise.all([tx.get(ctx.refs.user(userId)), ...LEADERBOARD_TYPES.map((t) => tx.get(ctx.refs.score(t, userId)))]);
  const displayName = user?.data()?.displayName;
  // The assignee was checked when assigned and users are never deleted: this is a broken invariant, not a refusal.
  if (displayName === undefined) throw new Error(`user ${userId} (the assignee of a completed job) has no document`);
  return { displayName, scores: scores.map((s) => s.data()) };
}

export function createFirestoreJobsData(ctx: FirestoreContext): JobsData {
  const { refs } = ctx;
  return {
    async find(id) {
      if (!isDocId(id)) return undefined;
      const d = (await ctx.bill.get(DOMAIN, refs.job(id))).data();
      return d === undefined ? undefined : toJob(d);
    },
    listPage: async (status, page, pageSize): Promise<Page<Job>> => toPage(await listJobs(ctx, status, pageSize + 1, (page - 1) * pageSize), pageSize),
    async listFirstPages(status, pages, pageSize) {
      // One query for all of them.
      const rows = await listJobs(ctx, status, pageSize * pages + 1, 0);
      return Array.from({ length: pages }, (_, i) => toPage(rows.slice(i * pageSize, (i + 1) * pageSize + 1), pageSize));
    },
    async create(ownerId, input) {
      const plan = planJobCreate(ownerId, input);
      const id = await ctx.ids('jobs').nextId();
      return withLedgerIds(ctx, plan.ledger.length, (ledgerIds) =>
        runTx(ctx.bill, DOMAIN, async (tx) => {
          // The hold is taken in the same transaction: without the money, no job.
          const ledger = planLedgerMoves(await readWallets(tx, refs, movedWallets(plan.ledger)), plan.ledger, ledgerIds);
          const now = Timestamp.now();
          const doc: JobDoc = { id, ...plan.job, assigneeId: null, acceptedAt: null, createdAt: now, updatedAt: now };
          tx.create(refs.job(id), doc);
          writeLedger(tx, refs, ledger, id, now);
          return { job: toJob(doc), moved: movedWallets(plan.ledger) };
        }),
      );
    },
    update: (actorId, id, patch) =>
      withLedgerIds(ctx, MOVES_PER_PLAN, (ledgerIds) =>
        runTx(ctx.bill, DOMAIN, async (tx) => {
          const doc = await readJob(tx, ctx, id);
          const before = doc === undefined ? undefined : toJob(doc);
          authorizeJobUpdate(before, actorId, patch);
          const assignee = assigneeToCheck(patch);
          if (assignee !== undefined && !(isDocId(assignee) && (await tx.get(refs.user(assignee))).exists)) throw unknownAssignee(assignee);
          const plan = planJobUpdate(before, patch);
          const ledger = planLedgerMoves(await readWallets(tx, refs, movedWallets(plan.ledger)), plan.ledger, ledgerIds);
          const scored = plan.score === undefined ? undefined : { ...plan.score, ...(await readScores(tx, ctx, plan.score.userId)) };
          // Reads are done: the writes.
          const now = Timestamp.now();
          writeLedger(tx, refs, ledger, id, now);
          if (scored !== undefined) {
            LEADERBOARD_TYPES.forEach((type, i) => {
              const score = scoreAfterReward(scored.scores[i]?.score, scored.amount);
              tx.set(refs.score(type, scored.userId), { type, userId: scored.userId, displayName: scored.displayName, score, updatedAt: now });
            });
          }
          const after = changedDoc(doc as JobDoc, plan.change, now);
          tx.set(refs.job(id), after);
          return { before, job: toJob(after), moved: movedWallets(plan.ledger) };
        }),
      ),
    accept: (actorId, id) =>
      runTx(ctx.bill, DOMAIN, async (tx) => {
        const doc = await readJob(tx, ctx, id);
        const { job, accept } = planJobAccept(doc === undefined ? undefined : toJob(doc), actorId);
        if (!accept) return { job, changed: false };
        const now = Timestamp.now();
        tx.update(refs.job(id), { acceptedAt: now, updatedAt: now });
        return { job: toJob({ ...(doc as JobDoc), acceptedAt: now, updatedAt: now }), changed: true };
      }),
  };
}
